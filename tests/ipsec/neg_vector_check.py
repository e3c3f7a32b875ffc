#!/usr/bin/env python3
# neg_vector_check.py - an independent check of the SA-negotiation vector of
# docs/KEYING.md §7.7 (tests/ipsec/test_negotiation_vector.h), written from
# the document with the python3-cryptography package, not from the C code.
# Not part of ctest (the project does not depend on Python); run it by hand.
import hmac, hashlib
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import re
src=open(__import__('os').path.join(__import__('os').path.dirname(__file__), 'test_negotiation_vector.h')).read()
vec={}
for m in re.finditer(r'#define (\w+) \\\n((?:\s+"[0-9a-f]*"(?: \\)?\n?)+)', src):
    vec[m.group(1)]=bytes.fromhex(''.join(re.findall(r'"([0-9a-f]*)"', m.group(2))))
cnt=lambda start,n: bytes((start+i)&0xff for i in range(n))
spi_i=cnt(1,8); xi=cnt(9,32); ni=cnt(0x29,32); spic_i=cnt(0x49,4)
spi_r=cnt(0xa1,8); xr=cnt(0xa9,32); nr=cnt(0xc9,32); spic_r=cnt(0xe9,4)
raw=serialization.Encoding.Raw; rawp=serialization.PublicFormat.Raw
kei=X25519PrivateKey.from_private_bytes(xi).public_key().public_bytes(raw,rawp)
ker=X25519PrivateKey.from_private_bytes(xr).public_key().public_bytes(raw,rawp)
init_req=bytes([1,1,1,0])+spi_i+bytes(8)+bytes(4)+(93).to_bytes(4,'big')+b'\0'+kei+ni
init_resp=bytes([1,2,2,0])+spi_i+spi_r+bytes(4)+(92).to_bytes(4,'big')+ker+nr
assert init_req==vec['VEC_INIT_REQ'], 'INIT_REQ'
assert init_resp==vec['VEC_INIT_RESP'], 'INIT_RESP'
g=X25519PrivateKey.from_private_bytes(xi).exchange(X25519PublicKey.from_public_bytes(ker))
km=HKDF(hashes.SHA256(),168,ni+nr,b'libdrt-neg v1 ike'+spi_i+spi_r).derive(g)
sk_d,sk_ei,sk_er=km[0:32],km[32:64],km[64:96]; salt_ei,salt_er=km[96:100],km[100:104]
sk_pi,sk_pr=km[104:136],km[136:168]
def open_(d,key,salt):
    hdr=d[:28]; iv=d[28:36]
    return AESGCM(key).decrypt(salt+iv,d[36:],hdr)
ar=open_(vec['VEC_AUTH_REQ'],sk_ei,salt_ei)
auth_i=hmac.new(b'libdrt test psk',b'libdrt-neg v1 auth initiator'+init_req+init_resp+sk_pi,hashlib.sha256).digest()
assert ar[:32]==auth_i and ar[32:36]==spic_i and ar[36]==0 and ar[37:41]==bytes(4), 'AUTH_REQ'
rs=open_(vec['VEC_AUTH_RESP'],sk_er,salt_er)
auth_r=hmac.new(b'libdrt test psk',b'libdrt-neg v1 auth responder'+init_req+init_resp+sk_pr,hashlib.sha256).digest()
assert rs[:4]==bytes(4) and rs[4:36]==auth_r and rs[36:40]==spic_r and rs[40]==0 and rs[45]==0 and len(rs)==46, 'AUTH_RESP'
child=HKDFExpand(hashes.SHA256(),72,b'libdrt-neg v1 child'+ni+nr+spic_i+spic_r).derive(sk_d)
assert vec['VEC_CHILD_SPIS']==spic_i+spic_r
assert child[:36]==vec['VEC_KEYMAT_IR'] and child[36:]==vec['VEC_KEYMAT_RI'], 'child'
print('vector OK: INIT_REQ, INIT_RESP, AUTH_REQ, AUTH_RESP, child keys all match an independent derivation')
