/* CURVE key files: keygen writes a shareable NAME.key (0644) and a private
 * NAME.key_secret (0600) whatever the umask, never overwrites, and loading a
 * secret that others can read, or that another user owns, is refused with
 * the fix in the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <czmq.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/keys.h"

typedef struct {
    char dir[64];
    char pub[128], sec[128];
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/qr-keys-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->pub, sizeof fx->pub, "%s/ai1.key", fx->dir);
    snprintf(fx->sec, sizeof fx->sec, "%s/ai1.key_secret", fx->dir);
    *state = fx;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes the fixture directory and everything the test wrote into it. */
static void rm_tree(const char *dir)
{
    if (nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    rm_tree(fx->dir);
    free(fx);
    return 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_keys_generate_writes_public_0644_and_secret_0600(void **state)
{
    fx_t *fx = *state;
    char pub[41] = "";
    qr_err_t err = {""};
    assert_int_equal(keys_generate(fx->dir, "ai1", pub, &err), 0);
    assert_int_equal(strlen(pub), 40);
    assert_int_equal(mode_of(fx->pub), 0644);
    assert_int_equal(mode_of(fx->sec), 0600);

    /* the public file carries the public key and never the secret one */
    zcert_t *sec = NULL;
    assert_int_equal(keys_load_secret(fx->sec, &sec, &err), 0);
    const char *pub_file = slurp(fx->pub);
    assert_non_null(strstr(pub_file, pub));
    assert_null(strstr(pub_file, zcert_secret_txt(sec)));
    assert_null(strstr(pub_file, "secret-key"));
    assert_string_equal(zcert_public_txt(sec), pub);
    zcert_destroy(&sec);
}

/* An operator with umask 0 (or 022) still gets a private secret file, and
 * one with umask 077 still gets a readable public one. */
static void test_keys_generate_modes_do_not_depend_on_umask(void **state)
{
    fx_t *fx = *state;
    static const mode_t masks[] = {0, 022, 077};
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        char name[16], pub[160], sec[160];
        snprintf(name, sizeof name, "m%zu", i);
        snprintf(pub, sizeof pub, "%s/%s.key", fx->dir, name);
        snprintf(sec, sizeof sec, "%s/%s.key_secret", fx->dir, name);
        mode_t old = umask(masks[i]);
        qr_err_t err = {""};
        int rc = keys_generate(fx->dir, name, NULL, &err);
        umask(old);
        assert_int_equal(rc, 0);
        if (mode_of(sec) != 0600 || mode_of(pub) != 0644)
            fail_msg("umask %03o gave secret %03o, public %03o", (unsigned)masks[i],
                     (unsigned)mode_of(sec), (unsigned)mode_of(pub));
    }
}

static void test_keys_generate_refuses_to_overwrite(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char pub1[41], pub2[41] = "";
    assert_int_equal(keys_generate(fx->dir, "ai1", pub1, &err), 0);
    char before[4096];
    snprintf(before, sizeof before, "%s", slurp(fx->sec));

    int rc = keys_generate(fx->dir, "ai1", pub2, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.msg, "not overwriting"));
    assert_string_equal(slurp(fx->sec), before); /* the old secret survives */
    assert_string_equal(pub2, "");

    /* a lone secret file (public one deleted) is not overwritten either */
    assert_int_equal(unlink(fx->pub), 0);
    assert_int_not_equal(keys_generate(fx->dir, "ai1", NULL, &err), 0);
    assert_string_equal(slurp(fx->sec), before);
    /* nor a lone public file */
    assert_int_equal(keys_generate(fx->dir, "ai2", NULL, &err), 0);
    char sec2[160];
    snprintf(sec2, sizeof sec2, "%s/ai2.key_secret", fx->dir);
    assert_int_equal(unlink(sec2), 0);
    assert_int_not_equal(keys_generate(fx->dir, "ai2", NULL, &err), 0);
    assert_int_not_equal(access(sec2, F_OK), 0);
}

static void test_keys_generate_creates_missing_directory(void **state)
{
    fx_t *fx = *state;
    char sub[128], sec[160];
    snprintf(sub, sizeof sub, "%s/keys", fx->dir);
    snprintf(sec, sizeof sec, "%s/op.key_secret", sub);
    qr_err_t err = {""};
    assert_int_equal(keys_generate(sub, "op", NULL, &err), 0);
    assert_int_equal(mode_of(sub) & 077, 0); /* a new key directory is private */
    assert_int_equal(mode_of(sec), 0600);
}

static void test_keys_generate_refuses_bad_names(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char longname[260];
    memset(longname, 'k', 201);
    longname[201] = '\0';
    assert_int_equal(keys_generate(fx->dir, "", NULL, &err), QR_EINVAL);
    assert_int_equal(keys_generate(fx->dir, NULL, NULL, &err), QR_EINVAL);
    assert_int_equal(keys_generate(fx->dir, "../escape", NULL, &err), QR_EINVAL);
    assert_int_equal(keys_generate(fx->dir, "a/b", NULL, &err), QR_EINVAL);
    assert_int_equal(keys_generate(fx->dir, longname, NULL, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "invalid key name"));
}

static void test_keys_load_secret_and_cert_name(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char pub[41];
    assert_int_equal(keys_generate(fx->dir, "ai1", pub, &err), 0);
    zcert_t *cert = NULL;
    assert_int_equal(keys_load_secret(fx->sec, &cert, &err), 0);
    assert_non_null(cert);
    assert_string_equal(keys_cert_name(cert), "ai1");
    assert_string_equal(zcert_public_txt(cert), pub);
    assert_int_equal(strlen(zcert_secret_txt(cert)), 40);
    assert_string_not_equal(zcert_secret_txt(cert), "0000000000000000000000000000000000000000");
    zcert_destroy(&cert);

    /* two keys are different keys */
    char other[41];
    assert_int_equal(keys_generate(fx->dir, "ai2", other, &err), 0);
    assert_string_not_equal(pub, other);
}

static void test_keys_cert_name_empty_when_unset(void **state)
{
    (void)state;
    assert_string_equal(keys_cert_name(NULL), "");
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    assert_string_equal(keys_cert_name(cert), "");
    zcert_destroy(&cert);
}

static void test_keys_load_secret_refuses_group_or_world_readable(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    assert_int_equal(keys_generate(fx->dir, "ai1", NULL, &err), 0);
    static const mode_t modes[] = {0640, 0644, 0604, 0660, 0666, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(fx->sec, modes[i]), 0);
        zcert_t *cert = NULL;
        memset(&err, 0, sizeof err);
        int rc = keys_load_secret(fx->sec, &cert, &err);
        if (rc != QR_EPERM)
            fail_msg("mode %03o gave %d (%s)", (unsigned)modes[i], rc, err.msg);
        assert_null(cert);
        assert_non_null(strstr(err.msg, "chmod 600"));
        assert_non_null(strstr(err.msg, fx->sec));
    }
    /* 0400 (read-only for the owner) is private enough */
    assert_int_equal(chmod(fx->sec, 0400), 0);
    zcert_t *cert = NULL;
    assert_int_equal(keys_load_secret(fx->sec, &cert, &err), 0);
    zcert_destroy(&cert);
}

/* A key owned by another user is refused even with mode 0600: a service
 * runs as the user that owns its key (root included). Needs root to chown. */
static void test_keys_load_secret_refuses_key_owned_by_another_user(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    if (geteuid() != 0)
        skip();
    assert_int_equal(keys_generate(fx->dir, "ai1", NULL, &err), 0);
    static const uid_t others[] = {65534, 12345};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_int_equal(chown(fx->sec, others[i], (gid_t)-1), 0);
        zcert_t *cert = NULL;
        memset(&err, 0, sizeof err);
        int rc = keys_load_secret(fx->sec, &cert, &err);
        if (rc != QR_EPERM)
            fail_msg("owner uid %u gave %d (%s)", (unsigned)others[i], rc, err.msg);
        assert_null(cert);
        assert_non_null(strstr(err.msg, "owned by"));
        assert_non_null(strstr(err.msg, "chown root"));
        assert_non_null(strstr(err.msg, fx->sec));
        char uidtxt[32];
        snprintf(uidtxt, sizeof uidtxt, "uid %u", (unsigned)others[i]);
        assert_non_null(strstr(err.msg, uidtxt));
    }
    /* given back to the running user it loads */
    assert_int_equal(chown(fx->sec, geteuid(), (gid_t)-1), 0);
    zcert_t *cert = NULL;
    assert_int_equal(keys_load_secret(fx->sec, &cert, &err), 0);
    zcert_destroy(&cert);
}

/* A directory, a FIFO or a device where the key should be is refused before
 * anything reads it; a symlink to a proper key file is followed. */
static void test_keys_load_secret_refuses_non_regular_files(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char path[160];
    snprintf(path, sizeof path, "%s/dir.key_secret", fx->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    zcert_t *cert = NULL;
    assert_int_equal(keys_load_secret(path, &cert, &err), QR_EPERM);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_null(cert);
    snprintf(path, sizeof path, "%s/fifo.key_secret", fx->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(keys_load_secret(path, &cert, &err), QR_EPERM); /* and does not block */
    assert_null(cert);

    assert_int_equal(keys_generate(fx->dir, "ai1", NULL, &err), 0);
    snprintf(path, sizeof path, "%s/link.key_secret", fx->dir);
    assert_int_equal(symlink(fx->sec, path), 0);
    assert_int_equal(keys_load_secret(path, &cert, &err), 0);
    zcert_destroy(&cert);
}

static void test_keys_load_secret_refuses_missing_and_non_secret_files(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    zcert_t *cert = NULL;
    assert_int_equal(keys_load_secret(fx->sec, &cert, &err), QR_EIO);
    assert_non_null(strstr(err.msg, fx->sec));
    assert_null(cert);

    /* a public certificate alone, even with private permissions */
    assert_int_equal(keys_generate(fx->dir, "ai1", NULL, &err), 0);
    char lone[160];
    snprintf(lone, sizeof lone, "%s/copy.key", fx->dir);
    copy_file(fx->pub, lone);
    assert_int_equal(chmod(lone, 0600), 0);
    assert_int_equal(keys_load_secret(lone, &cert, &err), QR_EPARSE);
    assert_null(cert);
    assert_non_null(strstr(err.msg, "not a czmq secret certificate"));

    /* a well-formed czmq file that holds no keys (syntactically broken
     * files are refused too, but czmq 4.2's zconfig_load leaks its zfile on
     * them, which LeakSanitizer would pin on this test) */
    char junk[160];
    snprintf(junk, sizeof junk, "%s/junk.key_secret", fx->dir);
    FILE *fp = fopen(junk, "w");
    assert_non_null(fp);
    fputs("metadata\n    name = \"junk\"\ncurve\n    public-key = \"short\"\n", fp);
    fclose(fp);
    assert_int_equal(chmod(junk, 0600), 0);
    assert_int_equal(keys_load_secret(junk, &cert, &err), QR_EPARSE);
    assert_null(cert);
}

static void test_keys_load_store_allows_generated_public_keys(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char sub[128];
    snprintf(sub, sizeof sub, "%s/agents", fx->dir);
    char pub1[41], pub2[41], outsider[41];
    assert_int_equal(keys_generate(sub, "ai1", pub1, &err), 0);
    assert_int_equal(keys_generate(sub, "ai2", pub2, &err), 0);
    assert_int_equal(keys_generate(fx->dir, "stranger", outsider, &err), 0);
    zcertstore_t *store = NULL;
    assert_int_equal(keys_load_store(sub, &store, &err), 0);
    assert_non_null(store);
    zcert_t *c1 = zcertstore_lookup(store, pub1);
    assert_non_null(c1);
    assert_string_equal(keys_cert_name(c1), "ai1");
    assert_non_null(zcertstore_lookup(store, pub2));
    assert_null(zcertstore_lookup(store, outsider));
    zcertstore_destroy(&store);

    char notdir[160];
    snprintf(notdir, sizeof notdir, "%s/ai1.key", sub);
    assert_int_equal(keys_load_store(notdir, &store, &err), QR_EIO);
    assert_int_equal(keys_load_store("/nonexistent/quorate/keys", &store, &err), QR_EIO);
}

/* Keys added to or removed from an allowlist directory take effect within
 * a second of lookups, without a restart; a missing directory later keeps
 * the last keys. */
static void test_keys_store_lookup_follows_directory_changes(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char sub[128], path[200];
    snprintf(sub, sizeof sub, "%s/agents", fx->dir);
    char pub1[41], pub2[41];
    assert_int_equal(keys_generate(sub, "ai1", pub1, &err), 0);
    zcertstore_t *store = NULL;
    assert_int_equal(keys_load_store(sub, &store, &err), 0);
    int64_t now = 5000;
    zcert_t *c = keys_store_lookup(store, pub1, now);
    assert_non_null(c);
    assert_string_equal(keys_cert_name(c), "ai1");

    assert_int_equal(keys_generate(sub, "ai2", pub2, &err), 0);
    assert_null(keys_store_lookup(store, pub2, now + 10)); /* checked at most once a second */
    c = keys_store_lookup(store, pub2, now + 1100);
    assert_non_null(c);
    assert_string_equal(keys_cert_name(c), "ai2");

    snprintf(path, sizeof path, "%s/ai1.key", sub); /* revoke ai1 */
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/ai1.key_secret", sub);
    assert_int_equal(unlink(path), 0);
    assert_null(keys_store_lookup(store, pub1, now + 2200));
    assert_non_null(keys_store_lookup(store, pub2, now + 2300));
    assert_null(keys_store_lookup(store, "0000000000000000000000000000000000000000", now + 2400));
    assert_null(keys_store_lookup(store, NULL, now + 2500));
    zcertstore_destroy(&store);
}

/* A lookup does not rescan the directory: 20,000 lookups in a store of 300
 * keys take well under a second (czmq's disk store stats every file on every
 * lookup: seconds to minutes). */
static void test_keys_store_lookup_is_cheap_with_many_keys(void **state)
{
    fx_t *fx = *state;
    qr_err_t err = {""};
    char sub[128];
    snprintf(sub, sizeof sub, "%s/many", fx->dir);
    static char pubs[300][41];
    for (int i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%03d", i);
        assert_int_equal(keys_generate(sub, name, pubs[i], &err), 0);
    }
    zcertstore_t *store = NULL;
    assert_int_equal(keys_load_store(sub, &store, &err), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t found = 0;
    for (int i = 0; i < 20000; i++) {
        const char *key = i % 2 ? pubs[i % 300] : "rrU]bQ2lYxU4UqqJaG3}j1c$-Zex1G9<P8>PA-!5";
        if (keys_store_lookup(store, key, 10000 + i / 10)) /* 2 s of "time": 2 dir checks */
            found++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_int_equal(found, 10000);
    if (ms > 1000)
        fail_msg("20000 lookups took %.0f ms", ms);
    zcertstore_destroy(&store);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_keys_generate_writes_public_0644_and_secret_0600),
        T(test_keys_generate_modes_do_not_depend_on_umask),
        T(test_keys_generate_refuses_to_overwrite),
        T(test_keys_generate_creates_missing_directory),
        T(test_keys_generate_refuses_bad_names),
        T(test_keys_load_secret_and_cert_name),
        T(test_keys_cert_name_empty_when_unset),
        T(test_keys_load_secret_refuses_group_or_world_readable),
        T(test_keys_load_secret_refuses_key_owned_by_another_user),
        T(test_keys_load_secret_refuses_non_regular_files),
        T(test_keys_load_secret_refuses_missing_and_non_secret_files),
        T(test_keys_load_store_allows_generated_public_keys),
        T(test_keys_store_lookup_follows_directory_changes),
        T(test_keys_store_lookup_is_cheap_with_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
