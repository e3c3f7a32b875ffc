/* A program written as a libdrt user would: both public headers, the
 * portable event object, and a DRT call that validates its arguments. */
#include <stdio.h>

#include <drt.h>
#include <fwpmu.h>

int main(void)
{
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    if (!ev)
        return 1;
    DrtEventSet(ev);
    DWORD w = DrtEventWait(ev, 0);
    DrtEventClose(ev);
    HRESULT hr = DrtOpen(NULL, NULL, NULL, NULL);
    printf("libdrt %s wait=%u DrtOpen(NULL)=0x%08X\n", DrtLibraryVersion(), (unsigned)w,
           (unsigned)hr);
    return (w == WAIT_OBJECT_0 && hr == E_INVALIDARG) ? 0 : 1;
}
