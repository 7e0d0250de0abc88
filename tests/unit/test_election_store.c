/* The election's hard state on disk: round trips, crash points (old or new,
 * never a mix, never below an acknowledged term) and refusal of torn or
 * corrupted files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "controller/election.h"
#include "controller/election_store.h"

typedef struct {
    char dir[64];
    char path[128];
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/qr-estore-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/election.state", fx->dir);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    char p[160];
    unlink(fx->path);
    snprintf(p, sizeof p, "%s.tmp", fx->path);
    unlink(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static election_hard_t hard(uint64_t term, uint32_t vote, uint64_t dterm, uint64_t dctr,
                            const char *doc)
{
    election_hard_t h = {term, vote, {dterm, dctr}, (const uint8_t *)doc, doc ? strlen(doc) : 0};
    return h;
}

static void assert_hard_equal(const election_hard_t *a, const election_hard_t *b)
{
    assert_int_equal(a->term, b->term);
    assert_int_equal(a->voted_for, b->voted_for);
    assert_int_equal(a->doc_id.term, b->doc_id.term);
    assert_int_equal(a->doc_id.counter, b->doc_id.counter);
    assert_int_equal(a->doc_len, b->doc_len);
    if (a->doc_len)
        assert_memory_equal(a->doc, b->doc, a->doc_len);
}

static void test_store_round_trips_term_vote_and_document(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t h = hard(42, 3, 41, 7, "{\"plan\":\"v7\"}");
    assert_int_equal(election_store_save(fx->path, &h, &err), 0);
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), 0);
    assert_hard_equal(&got, &h);
    free(buf);
}

static void test_store_round_trips_max_size_document(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    size_t n = ELECTION_DOC_MAX_DEFAULT;
    uint8_t *doc = malloc(n);
    assert_non_null(doc);
    for (size_t i = 0; i < n; i++)
        doc[i] = (uint8_t)(i * 131 + 7);
    election_hard_t h = {9, 0, {9, 100}, doc, n};
    assert_int_equal(election_store_save(fx->path, &h, &err), 0);
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_load(fx->path, n, &got, &buf, &err), 0);
    assert_hard_equal(&got, &h);
    free(buf);
    /* a node configured with a smaller limit refuses rather than truncates */
    assert_int_equal(election_store_load(fx->path, n - 1, &got, &buf, &err), QR_ETOOBIG);
    free(doc);
}

static void test_store_missing_file_means_first_start(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), QR_ENOTFOUND);
}

/* Crash at every step of a save: the state read back is the old one or the
 * new one, whole, and never has a term below the last save that returned 0
 * (the only one the controller acted on). */
static void test_store_crash_at_every_step_gives_old_or_new_state(void **state)
{
    fx_t *fx = *state;
    static const atomicfile_stop_t stops[] = {
        ATOMICFILE_STOP_TEMP_PARTIAL,
        ATOMICFILE_STOP_TEMP_WRITTEN,
        ATOMICFILE_STOP_BEFORE_RENAME,
        ATOMICFILE_STOP_AFTER_RENAME,
    };
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        qr_err_t err;
        election_hard_t old = hard(10, 2, 9, 4, "old document");
        election_hard_t new = hard(11, 3, 11, 5, "the new document, longer");
        assert_int_equal(election_store_save(fx->path, &old, &err), 0);
        uint64_t acknowledged = old.term;
        assert_int_equal(election_store_save_ex(fx->path, &new, stops[i], &err), QR_EIO);
        election_hard_t got;
        uint8_t *buf;
        assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), 0);
        if (got.term == new.term)
            assert_hard_equal(&got, &new);
        else
            assert_hard_equal(&got, &old);
        assert_true(got.term >= acknowledged);
        if (stops[i] == ATOMICFILE_STOP_AFTER_RENAME)
            assert_int_equal(got.term, new.term);
        free(buf);
        /* the controller retries: it must work on top of the debris */
        assert_int_equal(election_store_save(fx->path, &new, &err), 0);
        assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), 0);
        assert_hard_equal(&got, &new);
        free(buf);
    }
}

static void corrupt_at(const char *path, off_t off, uint8_t xor_mask)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= xor_mask;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void test_store_refuses_flipped_bit_in_term(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t h = hard(7, 1, 7, 2, "doc");
    assert_int_equal(election_store_save(fx->path, &h, &err), 0);
    corrupt_at(fx->path, 16, 0x01); /* lowest byte of the term */
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_null(buf);
    assert_int_equal(got.term, 0);
}

static void test_store_refuses_torn_file(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t h = hard(7, 1, 7, 2, "a document that gets cut");
    assert_int_equal(election_store_save(fx->path, &h, &err), 0);
    assert_int_equal(truncate(fx->path, 40), 0);
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "torn"));
    assert_int_equal(truncate(fx->path, 3), 0);
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
}

static void test_store_refuses_foreign_file_and_newer_format(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(atomicfile_write(fx->path, "term=5\n", 7, &err), 0);
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "magic"));
    election_hard_t h = hard(7, 1, 7, 2, "doc");
    assert_int_equal(election_store_save(fx->path, &h, &err), 0);
    corrupt_at(fx->path, 8, 0x03); /* version 1 -> 2 */
    assert_int_equal(election_store_load(fx->path, 1024, &got, &buf, &err), QR_EVERSION);
}

/* A controller that voted in term 12 and restarts from its file must not vote
 * for anyone else in term 12. */
static void test_store_restart_keeps_vote_and_refuses_second_candidate(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_config_t cfg;
    election_config_defaults(&cfg);
    cfg.self_id = 1;
    cfg.peers[0] = 2;
    cfg.peers[1] = 3;
    cfg.n_peers = 2;
    election_t *e;
    assert_int_equal(election_new(&cfg, NULL, 0, &e, &err), 0);
    election_msg_t rv = {.type = ELECTION_MSG_REQUEST_VOTE, .from = 2, .to = 1, .term = 12};
    election_out_t out;
    assert_int_equal(election_recv(e, 10, &rv, &out), 0);
    assert_true(out.persist);
    assert_int_equal(out.n_msgs, 1);
    assert_true(out.msgs[0].granted);
    assert_int_equal(election_store_save(fx->path, &out.hard, &err), 0);
    election_destroy(&e);

    election_hard_t h;
    uint8_t *buf;
    assert_int_equal(election_store_load(fx->path, cfg.doc_max, &h, &buf, &err), 0);
    assert_int_equal(election_new(&cfg, &h, 20, &e, &err), 0);
    free(buf);
    rv.from = 3;
    assert_int_equal(election_recv(e, 30, &rv, &out), 0);
    assert_int_equal(out.n_msgs, 1);
    assert_false(out.msgs[0].granted);
    assert_int_equal(election_term(e), 12);
    assert_int_equal(election_voted_for(e), 2);
    election_destroy(&e);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_round_trips_term_vote_and_document),
        T(test_store_round_trips_max_size_document),
        T(test_store_missing_file_means_first_start),
        T(test_store_crash_at_every_step_gives_old_or_new_state),
        T(test_store_refuses_flipped_bit_in_term),
        T(test_store_refuses_torn_file),
        T(test_store_refuses_foreign_file_and_newer_format),
        T(test_store_restart_keeps_vote_and_refuses_second_candidate),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
