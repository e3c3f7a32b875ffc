/* io_km.c - the key-manager worker pool (io_km.h). */
#include "io/io_km.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>

#include "io/io_loop.h"

struct io_km_client {
    struct neg_keymgr_env env;
    io_km_answer_fn fn;
    void *ctx;
    unsigned refs;  /* the open client, and each job of it (pool.lock) */
    bool closed;    /* loop thread only */
};

struct km_job {
    struct km_job *next;
    struct io_km_client *client;
    struct neg_km_call call;
    struct neg_km_answer answer;
};

struct job_list {
    struct km_job *head, *tail;
};

static struct {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t work;
    struct job_list todo, done;
    size_t ntodo;
    pthread_t threads[IO_KM_THREADS];
    unsigned nthreads, idle;
    bool stopping;
    bool delivering; /* the uv_async exists and may be sent */
    uv_async_t async;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

static _Thread_local bool on_worker;

bool io_km_in_callback(void)
{
    return on_worker;
}

static void push(struct job_list *l, struct km_job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static struct km_job *pop(struct job_list *l)
{
    struct km_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
    }
    return j;
}

/* pool.lock held. */
static void unref(struct io_km_client *c)
{
    if (--c->refs == 0) {
        OPENSSL_cleanse(c, sizeof(*c));
        free(c);
    }
}

static void free_job(struct km_job *j)
{
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

static void *worker(void *arg)
{
    (void)arg;
    on_worker = true;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.todo.head && !pool.stopping) {
            pool.idle++;
            pthread_cond_wait(&pool.work, &pool.lock);
            pool.idle--;
        }
        if (pool.stopping)
            break;
        struct km_job *j = pop(&pool.todo);
        pool.ntodo--;
        pthread_mutex_unlock(&pool.lock);
        bool notify = j->call.op == NEG_KM_NOTIFY;
        neg_km_run(&j->client->env, &j->call, notify ? NULL : &j->answer);
        pthread_mutex_lock(&pool.lock);
        if (notify || !pool.delivering) {
            unref(j->client);
            free_job(j);
            continue;
        }
        push(&pool.done, j);
        uv_async_send(&pool.async);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* Loop thread: hands the answers to their clients. */
static void deliver(uv_async_t *h)
{
    (void)h;
    pthread_mutex_lock(&pool.lock);
    struct job_list l = pool.done;
    pool.done = (struct job_list){NULL, NULL};
    pthread_mutex_unlock(&pool.lock);
    struct km_job *j;
    while ((j = pop(&l))) {
        if (!j->client->closed)
            j->client->fn(j->client->ctx, &j->answer);
        pthread_mutex_lock(&pool.lock);
        unref(j->client);
        pthread_mutex_unlock(&pool.lock);
        free_job(j);
    }
}

struct io_km_client *io_km_client_open(const struct neg_keymgr_env *env, io_km_answer_fn fn,
                                       void *ctx)
{
    struct io_km_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->env = *env;
    c->env.ask = NULL;
    c->fn = fn;
    c->ctx = ctx;
    c->refs = 1;
    return c;
}

void io_km_client_close(struct io_km_client *c)
{
    if (!c)
        return;
    c->closed = true;
    pthread_mutex_lock(&pool.lock);
    unref(c);
    pthread_mutex_unlock(&pool.lock);
}

void io_km_ask(void *client, const struct neg_km_call *call)
{
    struct io_km_client *c = client;
    pthread_mutex_lock(&pool.lock);
    bool full = pool.ntodo >= IO_KM_MAX_QUEUED;
    pthread_mutex_unlock(&pool.lock);
    struct km_job *j = full ? NULL : calloc(1, sizeof(*j));
    if (!j) {
        /* The negotiation gives up at the call's deadline (a notification
         * is lost). */
        struct neg_km_call copy = *call;
        neg_km_drop(&c->env, &copy);
        return;
    }
    j->client = c;
    j->call = *call;
    pthread_mutex_lock(&pool.lock);
    if (!pool.delivering && uv_async_init(io_loop(), &pool.async, deliver) == 0)
        pool.delivering = true;
    c->refs++;
    push(&pool.todo, j);
    pool.ntodo++;
    /* A worker for each call waiting, up to the cap: a blocked callback
     * leaves the others free. */
    if (pool.ntodo > pool.idle && pool.nthreads < IO_KM_THREADS &&
        pthread_create(&pool.threads[pool.nthreads], NULL, worker, NULL) == 0)
        pool.nthreads++;
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.lock);
}

void io_km_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.delivering = false; /* the loop closes the uv_async next */
    pthread_mutex_unlock(&pool.lock);
}

void io_km_shutdown(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    pool.delivering = false;
    pthread_cond_broadcast(&pool.work);
    unsigned n = pool.nthreads;
    pthread_mutex_unlock(&pool.lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(pool.threads[i], NULL);
    pthread_mutex_lock(&pool.lock);
    struct job_list todo = pool.todo, done = pool.done;
    pool.todo = pool.done = (struct job_list){NULL, NULL};
    pool.ntodo = 0;
    pool.nthreads = 0;
    pool.stopping = false;
    pthread_mutex_unlock(&pool.lock);
    /* never run: their pins go (the env's lock is not pool.lock) */
    struct km_job *j;
    while ((j = pop(&todo))) {
        neg_km_drop(&j->client->env, &j->call);
        push(&done, j);
    }
    pthread_mutex_lock(&pool.lock);
    while ((j = pop(&done))) {
        unref(j->client);
        free_job(j);
    }
    pthread_mutex_unlock(&pool.lock);
}
