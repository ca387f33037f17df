/*
 * snapshot.c -- see snapshot.h.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MAGIC "CSTATSNP"
#define BOM 0x01020304u
#define DIGEST 32
#define HEADER (8 + 4 + 4 + 6 * 8 + 40 + 40 + 72)
#define TRAILER (8 + DIGEST)

struct writer {
    FILE *f;
    EVP_MD_CTX *md;
    uint64_t payload;
    int counting; /* bytes so far are payload */
};

static int write_cb(void *arg, const void *p, size_t n)
{
    struct writer *w = arg;
    if (fwrite(p, 1, n, w->f) != n || EVP_DigestUpdate(w->md, p, n) != 1)
        return -1;
    if (w->counting)
        w->payload += n;
    return 0;
}

static void put_mark(snap_out *o, const snapshot_mark *m)
{
    snap_put(o, MAGIC, 8);
    snap_u32(o, SNAPSHOT_FORMAT);
    snap_u32(o, BOM);
    snap_i64(o, m->written_ms);
    snap_i64(o, m->max_id);
    snap_i64(o, m->rows);
    snap_i64(o, m->changes);
    snap_i64(o, m->inserts);
    snap_i64(o, m->generation);
    char buf[40];
    memset(buf, 0, sizeof buf);
    snprintf(buf, sizeof buf, "%s", m->instance);
    snap_put(o, buf, sizeof buf);
    memset(buf, 0, sizeof buf);
    snprintf(buf, sizeof buf, "%s", m->fingerprint);
    snap_put(o, buf, sizeof buf);
    char zbuf[72];
    memset(zbuf, 0, sizeof zbuf);
    snprintf(zbuf, sizeof zbuf, "%s", m->zones);
    snap_put(o, zbuf, sizeof zbuf);
}

/* fsync the directory holding path, so the rename survives a power cut. */
static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int snapshot_write(const char *path, const snapshot_mark *mark,
                   int (*payload)(snap_out *out, void *arg), void *arg, char *why, size_t whylen)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(why, whylen, "path too long");
        return -1;
    }
    struct writer w = {0};
    const char *step = "open";
    errno = 0;
    w.md = EVP_MD_CTX_new();
    /* Only compstatd's user reads it: it holds incident ids and unit callsigns. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    w.f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && w.f == NULL)
        close(fd);
    if (w.md == NULL || w.f == NULL || EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1)
        goto fail;
    setvbuf(w.f, NULL, _IOFBF, 1 << 20);
    snap_out out = {write_cb, &w, 0};
    step = "write";
    put_mark(&out, mark);
    w.counting = 1;
    if (out.failed || payload(&out, arg) != 0 || out.failed)
        goto fail;
    w.counting = 0;
    snap_u64(&out, w.payload);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (out.failed || EVP_DigestFinal_ex(w.md, md, &mdlen) != 1 || mdlen != DIGEST ||
        fwrite(md, 1, DIGEST, w.f) != DIGEST || fflush(w.f) != 0)
        goto fail;
    step = "fsync";
    if (fsync(fileno(w.f)) != 0)
        goto fail;
    step = "close";
    FILE *f = w.f;
    w.f = NULL;
    if (fclose(f) != 0)
        goto fail;
    step = "rename";
    if (rename(tmp, path) != 0)
        goto fail;
    sync_dir(path);
    EVP_MD_CTX_free(w.md);
    return 0;
fail:
    snprintf(why, whylen, "%s %s: %s", step, tmp, errno ? strerror(errno) : "failed");
    if (w.f)
        fclose(w.f);
    unlink(tmp);
    EVP_MD_CTX_free(w.md);
    return -1;
}

int snapshot_open(const char *path, snapshot_file *f, char *why, size_t whylen)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whylen, "open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < HEADER + TRAILER) {
        snprintf(why, whylen, "too short (%lld bytes)", (long long)st.st_size);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(why, whylen, "mmap: %s", strerror(errno));
        return -1;
    }
    madvise(map, size, MADV_SEQUENTIAL);
    f->map = map;
    f->size = size;
    snap_in in;
    snap_in_init(&in, map, size);
    char magic[8];
    snap_get(&in, magic, 8);
    uint32_t version = snap_get_u32(&in), bom = snap_get_u32(&in);
    if (memcmp(magic, MAGIC, 8) != 0) {
        snprintf(why, whylen, "not a compstatd snapshot");
        goto bad;
    }
    if (bom != BOM || version != SNAPSHOT_FORMAT) {
        snprintf(why, whylen, "format %u (this build reads %d), byte order %s", version,
                 SNAPSHOT_FORMAT, bom == BOM ? "ok" : "foreign");
        goto bad;
    }
    snapshot_mark *m = &f->mark;
    m->written_ms = snap_get_i64(&in);
    m->max_id = snap_get_i64(&in);
    m->rows = snap_get_i64(&in);
    m->changes = snap_get_i64(&in);
    m->inserts = snap_get_i64(&in);
    m->generation = snap_get_i64(&in);
    snap_get(&in, m->instance, sizeof m->instance);
    snap_get(&in, m->fingerprint, sizeof m->fingerprint);
    snap_get(&in, m->zones, sizeof m->zones);
    m->instance[sizeof m->instance - 1] = m->fingerprint[sizeof m->fingerprint - 1] = '\0';
    m->zones[sizeof m->zones - 1] = '\0';
    const unsigned char *base = map;
    uint64_t payload_len;
    memcpy(&payload_len, base + size - TRAILER, 8);
    if (payload_len != size - HEADER - TRAILER) {
        snprintf(why, whylen, "truncated or extended (%zu bytes, payload says %llu)", size,
                 (unsigned long long)payload_len);
        goto bad;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(base, size - DIGEST, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != DIGEST ||
        memcmp(md, base + size - DIGEST, DIGEST) != 0) {
        snprintf(why, whylen, "checksum mismatch");
        goto bad;
    }
    f->payload = base + HEADER;
    f->payload_len = (size_t)payload_len;
    return 1;
bad:
    snapshot_close(f);
    return -1;
}

void snapshot_close(snapshot_file *f)
{
    if (f->map)
        munmap(f->map, f->size);
    memset(f, 0, sizeof *f);
}
