/* The election's hard state on disk: round trips, crash points (old or new,
 * never a mix, never below an acknowledged term), the two slots, format 1
 * files, and refusal of torn or corrupted files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "controller/election.h"
#include "controller/election_store.h"
#include "fx_tmpdir.h"

static int fx_setup(void **state)
{
    return fx_make(state, "qr-estore", "election.state");
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

/* One save through a fresh store handle, as a restarted controller does. */
static int save_ex(const char *path, const election_hard_t *h, crashpoint_t stop, qr_err_t *err)
{
    election_store_t *s;
    election_hard_t cur;
    uint8_t *buf;
    int rc = election_store_open(path, ELECTION_DOC_MAX_DEFAULT, &s, &cur, &buf, err);
    free(buf);
    if (rc && rc != QR_ENOTFOUND)
        return rc;
    rc = election_store_save_ex(s, h, stop, err);
    election_store_destroy(&s);
    return rc;
}

static int save(const char *path, const election_hard_t *h, qr_err_t *err)
{
    return save_ex(path, h, CRASHPOINT_NONE, err);
}

static int load(const char *path, size_t doc_max, election_hard_t *h, uint8_t **buf,
                qr_err_t *err)
{
    election_store_t *s;
    int rc = election_store_open(path, doc_max, &s, h, buf, err);
    election_store_destroy(&s);
    return rc;
}

static void test_store_round_trips_term_vote_and_document(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t h = hard(42, 3, 41, 7, "{\"plan\":\"v7\"}");
    assert_int_equal(save(fx->path, &h, &err), 0);
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), 0);
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
    assert_int_equal(save(fx->path, &h, &err), 0);
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(load(fx->path, n, &got, &buf, &err), 0);
    assert_hard_equal(&got, &h);
    free(buf);
    /* a node configured with a smaller limit refuses rather than truncates */
    assert_int_equal(load(fx->path, n - 1, &got, &buf, &err), QR_ETOOBIG);
    free(doc);
}

static void test_store_missing_file_means_first_start(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_ENOTFOUND);
}

/* Crash at every step of a save, in place (slot) and by replacement (the
 * first save, or a format 1 file being rewritten): the state read back is
 * the old one or the new one, whole, and never has a term below the last
 * save that returned 0 (the only one the controller acted on). */
static void crash_case(const char *path, crashpoint_t stop, bool new_expected)
{
    qr_err_t err;
    election_hard_t old = hard(10, 2, 9, 4, "old document");
    election_hard_t new = hard(11, 3, 11, 5, "the new document, longer");
    assert_int_equal(save(path, &old, &err), 0);
    uint64_t acknowledged = old.term;
    assert_int_equal(save_ex(path, &new, stop, &err), QR_EIO);
    assert_non_null(strstr(err.msg, "injected"));
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(load(path, 1024, &got, &buf, &err), 0);
    assert_hard_equal(&got, new_expected ? &new : &old);
    assert_true(got.term >= acknowledged);
    free(buf);
    /* the controller retries: it must work on top of the debris */
    assert_int_equal(save(path, &new, &err), 0);
    assert_int_equal(load(path, 1024, &got, &buf, &err), 0);
    assert_hard_equal(&got, &new);
    free(buf);
}

static void test_store_crash_at_every_step_gives_old_or_new_state(void **state)
{
    fx_t *fx = *state;
    crash_case(fx->path, SLOTFILE_STOP_PARTIAL, false);
    crash_case(fx->path, SLOTFILE_STOP_WRITTEN, true); /* in the page cache: kill -9 keeps it */
    static const struct {
        crashpoint_t stop;
        bool new_visible;
    } replace[] = {
        {ATOMICFILE_STOP_TEMP_PARTIAL, false},
        {ATOMICFILE_STOP_TEMP_WRITTEN, false},
        {ATOMICFILE_STOP_BEFORE_RENAME, false},
        {ATOMICFILE_STOP_AFTER_RENAME, true},
    };
    for (size_t i = 0; i < sizeof replace / sizeof replace[0]; i++) {
        /* a format 1 file (the record alone) is replaced by a slot file */
        qr_err_t err;
        election_hard_t old = hard(10, 2, 9, 4, "old document");
        election_hard_t new = hard(11, 3, 11, 5, "the new document, longer");
        uint8_t *rec;
        size_t len;
        assert_int_equal(election_store_encode(&old, &rec, &len, &err), 0);
        assert_int_equal(atomicfile_write(fx->path, rec, len, &err), 0);
        free(rec);
        assert_int_equal(save_ex(fx->path, &new, replace[i].stop, &err), QR_EIO);
        election_hard_t got;
        uint8_t *buf;
        assert_int_equal(load(fx->path, 1024, &got, &buf, &err), 0);
        assert_hard_equal(&got, replace[i].new_visible ? &new : &old);
        free(buf);
    }
}

/* Controllers that wrote format 1 (one record replaced atomically) start
 * from it, say so once, and write a slot file from their next save on. */
static void test_store_reads_format1_and_rewrites_it(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t old = hard(21, 2, 20, 9, "{\"audit\":[]}");
    uint8_t *rec;
    size_t len;
    assert_int_equal(election_store_encode(&old, &rec, &len, &err), 0);
    assert_int_equal(atomicfile_write(fx->path, rec, len, &err), 0);
    free(rec);
    election_store_t *s;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_open(fx->path, 1024, &s, &got, &buf, &err), 0);
    assert_hard_equal(&got, &old);
    assert_non_null(election_store_note(s));
    assert_non_null(strstr(election_store_note(s), "format 1"));
    free(buf);
    election_hard_t next = hard(22, 1, 20, 9, "{\"audit\":[]}");
    assert_int_equal(election_store_save(s, &next, &err), 0);
    assert_int_equal(election_store_save(s, &next, &err), 0); /* now in place */
    election_store_destroy(&s);
    assert_int_equal(election_store_open(fx->path, 1024, &s, &got, &buf, &err), 0);
    assert_hard_equal(&got, &next);
    assert_null(election_store_note(s));
    free(buf);
    election_store_destroy(&s);
}

/* Many saves in place: every reopen sees the last one; the file keeps its size. */
static void test_store_alternates_slots_and_keeps_last_save(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_store_t *s;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_open(fx->path, 4096, &s, &got, &buf, &err), QR_ENOTFOUND);
    struct stat st0 = {0};
    for (uint64_t t = 1; t <= 50; t++) {
        election_hard_t h = hard(t, (uint32_t)(t % 3), t - 1, t, t % 2 ? "odd" : "even, longer");
        assert_int_equal(election_store_save(s, &h, &err), 0);
        struct stat st;
        assert_int_equal(stat(fx->path, &st), 0);
        if (t == 1)
            st0 = st;
        assert_int_equal(st.st_size, st0.st_size);
        assert_int_equal(st.st_ino, st0.st_ino); /* written in place, not replaced */
        election_store_t *r;
        assert_int_equal(election_store_open(fx->path, 4096, &r, &got, &buf, &err), 0);
        assert_hard_equal(&got, &h);
        free(buf);
        election_store_destroy(&r);
    }
    election_store_destroy(&s);
}

/* Where the term of the record in slot 0 lies: the 4 KiB file header, the
 * slot record's 16-byte header, the record's own 16-byte header. */
#define SLOT0_TERM (4096 + 16 + 16)

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
    assert_int_equal(save(fx->path, &h, &err), 0);
    corrupt_at(fx->path, SLOT0_TERM, 0x01); /* lowest byte of the term, the only record */
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_null(buf);
    assert_int_equal(got.term, 0);
}

static void test_store_refuses_torn_file(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t h = hard(7, 1, 7, 2, "a document that gets cut");
    assert_int_equal(save(fx->path, &h, &err), 0);
    assert_int_equal(truncate(fx->path, 40), 0);
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "torn"));
    assert_int_equal(truncate(fx->path, 3), 0);
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
}

static void test_store_refuses_foreign_file_and_newer_format(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(atomicfile_write(fx->path, "term=5\n", 7, &err), 0);
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "magic"));
    assert_int_equal(save(fx->path, &(election_hard_t){0}, &err), QR_EPARSE); /* never overwritten */
    assert_int_equal(unlink(fx->path), 0);
    election_hard_t h = hard(7, 1, 7, 2, "doc");
    assert_int_equal(save(fx->path, &h, &err), 0);
    /* a file header of a newer version, with a valid checksum */
    int fd = open(fx->path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t hdr[20];
    assert_int_equal(pread(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    hdr[8] = 2;
    uint32_t crc = slotfile_crc32(hdr, 16);
    for (int i = 0; i < 4; i++)
        hdr[16 + i] = (uint8_t)(crc >> (8 * i));
    assert_int_equal(pwrite(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    close(fd);
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_EVERSION);
    assert_non_null(strstr(err.msg, "version 2"));
}

/* A damaged newest slot is taken for a write cut by a crash: the previous
 * state is used and the skip is reported (the caller logs it); with both
 * slots damaged the controller refuses to start. */
static void test_store_one_bad_slot_falls_back_both_refuse(void **state)
{
    fx_t *fx = *state;
    qr_err_t err;
    election_hard_t a = hard(7, 1, 7, 2, "doc a");
    election_hard_t b = hard(8, 2, 8, 3, "doc b");
    election_store_t *s;
    election_hard_t got;
    uint8_t *buf;
    assert_int_equal(election_store_open(fx->path, 1024, &s, &got, &buf, &err), QR_ENOTFOUND);
    assert_int_equal(election_store_save(s, &a, &err), 0); /* slot 0 (file created) */
    assert_int_equal(election_store_save(s, &b, &err), 0); /* slot 1 */
    election_store_destroy(&s);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    off_t slot1_term = SLOT0_TERM + (st.st_size - 4096) / 2;
    corrupt_at(fx->path, slot1_term, 0x80);
    assert_int_equal(election_store_open(fx->path, 1024, &s, &got, &buf, &err), 0);
    assert_hard_equal(&got, &a);
    assert_non_null(election_store_note(s));
    assert_non_null(strstr(election_store_note(s), "slot 1 unreadable"));
    free(buf);
    election_store_destroy(&s);
    corrupt_at(fx->path, SLOT0_TERM, 0x80);
    assert_int_equal(load(fx->path, 1024, &got, &buf, &err), QR_EPARSE);
    assert_non_null(strstr(err.msg, "no readable slot"));
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    assert_null(buf);
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
    assert_int_equal(save(fx->path, &out.hard, &err), 0);
    election_destroy(&e);

    election_hard_t h;
    uint8_t *buf;
    assert_int_equal(load(fx->path, cfg.doc_max, &h, &buf, &err), 0);
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
        T(test_store_reads_format1_and_rewrites_it),
        T(test_store_alternates_slots_and_keeps_last_save),
        T(test_store_one_bad_slot_falls_back_both_refuse),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
