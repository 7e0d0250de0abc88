/* ports check: /proc/net parsing on fixture files (tests/fixtures/proc/<case>/
 * net, written in the little-endian form x86 kernels print), the VXLAN owner
 * search on a fake /proc built per test, and the evaluator's statuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_ports.h"
#include "check_testlib.h"

static agent_conf_t conf_default_ports(void)
{
    agent_conf_t c;
    memset(&c, 0, sizeof c);
    static const int tcp[] = {2377, 7946, 27017, 3031, 9000, 32646, 22};
    static const int udp[] = {7946, 4789};
    memcpy(c.tcp_ports, tcp, sizeof tcp);
    c.n_tcp_ports = 7;
    memcpy(c.udp_ports, udp, sizeof udp);
    c.n_udp_ports = 2;
    return c;
}

/* Absolute (the fake /proc links to it). */
static const char *fixture(const char *name, char *buf, size_t size)
{
    return check_fixture_path("proc", name, buf, size);
}

static check_result_t run_on(const char *proc_root, const agent_conf_t *c, ports_facts_t *f)
{
    check_result_t r;
    check_result_init(&r, "ports");
    check_ports_probe(c, proc_root, f);
    check_ports_eval(f, c, &r);
    return r;
}

static void test_ports_parse_line_ipv4_ipv6_and_header(void **state)
{
    (void)state;
    ports_socket_t s;
    assert_int_equal(
        check_ports_parse_line("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
                               "retrnsmt   uid  timeout inode",
                               4, &s),
        -1);
    assert_int_equal(
        check_ports_parse_line("   1: 0500000A:6989 00000000:0000 0A 00000000:00000000 00:00000000 "
                               "00000000   999        0 21002 1 0000000000000000 100 0 0 10 0",
                               4, &s),
        0);
    assert_string_equal(s.addr, "10.0.0.5");
    assert_int_equal(s.port, 27017);
    assert_int_equal(s.state, PORTS_TCP_LISTEN);
    assert_int_equal(s.uid, 999);
    assert_int_equal(s.inode, 21002);
    assert_int_equal(
        check_ports_parse_line("   0: 00000000000000000000000001000000:1F0A "
                               "00000000000000000000000000000000:0000 0A 00000000:00000000 "
                               "00:00000000 00000000     0        0 22001 1 0000000000000000",
                               6, &s),
        0);
    assert_string_equal(s.addr, "::1");
    assert_int_equal(s.port, 7946);
    /* a v4-length address in a v6 file, a truncated line, a port out of range */
    assert_int_equal(
        check_ports_parse_line("   0: 0100007F:1F0A 00000000:0000 0A 0:0 0:0 0 0 0 1", 6, &s), -1);
    assert_int_equal(check_ports_parse_line("   0: 0100007F:1F0A", 4, &s), -1);
    assert_int_equal(
        check_ports_parse_line("   0: 0100007F:1FFFFF 00000000:0000 0A 0:0 0:0 0 0 0 1", 4, &s),
        -1);
}

static void test_ports_all_required_listening_is_ok(void **state)
{
    (void)state;
    char root[512];
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(fixture("all_listening", root, sizeof root), &c, f);
    assert_int_equal(r.status, CHECK_OK);
    assert_summary_has(&r, "all 9 required ports listening");
    json_t *tcp = json_object_get(r.values, "tcp");
    assert_true(json_is_true(json_object_get(json_object_get(tcp, "27017"), "listening")));
    json_t *a22 = json_object_get(json_object_get(tcp, "22"), "addresses");
    assert_int_equal(json_array_size(a22), 2);
    assert_string_equal(json_string_value(json_array_get(a22, 0)), "0.0.0.0");
    assert_string_equal(json_string_value(json_array_get(a22, 1)), "::");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(tcp, "27017"), "addresses"), 0)),
                        "10.0.0.5");
    assert_null(json_object_get(tcp, "8080")); /* not required, not reported */
    json_t *vx = json_object_get(r.values, "vxlan");
    assert_true(json_is_false(json_object_get(vx, "conflict")));
    json_t *h = json_array_get(json_object_get(vx, "holders"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "kind")), "kernel");
    assert_true(json_is_true(json_object_get(h, "docker")));
    assert_int_equal(json_array_size(json_object_get(r.values, "missing_tcp")), 0);
    assert_reasons(&r, NULL);
    check_result_clear(&r);
    free(f);
}

static void test_ports_missing_listeners_warn_and_are_listed(void **state)
{
    (void)state;
    char root[512];
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(fixture("missing", root, sizeof root), &c, f);
    assert_int_equal(r.status, CHECK_WARN);
    /* 27017 only appears as a client connection and TIME_WAIT, udp 7946 only
     * connected: none of those is a listener */
    assert_string_equal(r.summary, "not listening: tcp 27017; udp 7946, 4789");
    json_t *mt = json_object_get(r.values, "missing_tcp");
    assert_int_equal(json_array_size(mt), 1);
    assert_int_equal(json_integer_value(json_array_get(mt, 0)), 27017);
    assert_int_equal(json_array_size(json_object_get(r.values, "missing_udp")), 2);
    /* one key per missing port, named by protocol and configured number */
    assert_reasons(&r, "tcp_27017_not_listening", "udp_7946_not_listening",
                   "udp_4789_not_listening", NULL);
    check_result_clear(&r);
    free(f);
}

static void test_ports_ipv6_disabled_is_not_an_error(void **state)
{
    (void)state;
    char root[512];
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(fixture("no_ipv6", root, sizeof root), &c, f);
    assert_int_equal(f->net_errno[PORTS_NET_TCP6], ENOENT);
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);
    free(f);
}

static void test_ports_garbage_lines_are_skipped(void **state)
{
    (void)state;
    char root[512];
    agent_conf_t c = conf_default_ports();
    c.n_tcp_ports = 1;
    c.tcp_ports[0] = 22;
    c.n_udp_ports = 0;
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(fixture("garbage", root, sizeof root), &c, f);
    assert_int_equal(f->n, 1); /* only the one good line */
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);
    free(f);
}

static void test_ports_unreadable_proc_net_tcp_is_unknown(void **state)
{
    (void)state;
    char dir[] = "/tmp/qr-ports-XXXXXX";
    assert_non_null(mkdtemp(dir));
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(dir, &c, f);
    assert_int_equal(r.status, CHECK_UNKNOWN);
    assert_summary_has(&r, "cannot read /proc/net/tcp");
    assert_reasons(&r, "proc_net_unreadable", NULL);
    check_result_clear(&r);
    free(f);
    rmdir(dir);
}

/* ---- a fake /proc: net -> a fixture, plus process dirs with socket fds ---- */

typedef struct {
    char root[64];
} fakeproc_t;

static void fake_process(fakeproc_t *p, int pid, const char *comm, const char *fd_target)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%d", p->root, pid);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/%d/comm", p->root, pid);
    char line[64];
    snprintf(line, sizeof line, "%s\n", comm);
    put_file(path, line);
    snprintf(path, sizeof path, "%s/%d/fd", p->root, pid);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/%d/fd/0", p->root, pid);
    assert_int_equal(symlink("/dev/null", path), 0);
    snprintf(path, sizeof path, "%s/%d/fd/7", p->root, pid);
    assert_int_equal(symlink(fd_target, path), 0);
}

static void fakeproc_init(fakeproc_t *p, const char *net_fixture)
{
    char fx[512], link[128];
    snprintf(p->root, sizeof p->root, "/tmp/qr-proc-XXXXXX");
    assert_non_null(mkdtemp(p->root));
    snprintf(link, sizeof link, "%s/net", p->root);
    fixture(net_fixture, fx, sizeof fx);
    strncat(fx, "/net", sizeof fx - strlen(fx) - 1);
    assert_int_equal(symlink(fx, link), 0);
    snprintf(link, sizeof link, "%s/self", p->root); /* non-numeric: ignored */
    assert_int_equal(mkdir(link, 0755), 0);
}

static void fakeproc_destroy(fakeproc_t *p)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->root);
    assert_int_equal(system(cmd), 0);
}

static void test_ports_4789_held_by_foreign_process_warns_naming_it(void **state)
{
    (void)state;
    fakeproc_t p;
    fakeproc_init(&p, "foreign_4789");
    fake_process(&p, 100, "sshd", "socket:[21004]");
    fake_process(&p, 4321, "nc", "socket:[44444]");
    fake_process(&p, 555, "cat", "pipe:[44444]"); /* same number, not a socket */
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(p.root, &c, f);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "UDP 4789 (VXLAN) held by nc (pid 4321), not dockerd");
    json_t *vx = json_object_get(r.values, "vxlan");
    assert_true(json_is_true(json_object_get(vx, "conflict")));
    json_t *h = json_array_get(json_object_get(vx, "holders"), 0);
    assert_int_equal(json_integer_value(json_object_get(h, "pid")), 4321);
    assert_string_equal(json_string_value(json_object_get(h, "comm")), "nc");
    assert_int_equal(json_integer_value(json_object_get(h, "uid")), 65534);
    /* the process name or pid is not part of the key */
    assert_reasons(&r, "vxlan_conflict", NULL);
    check_result_clear(&r);
    free(f);
    fakeproc_destroy(&p);
}

static void test_ports_4789_held_by_dockerd_is_ok(void **state)
{
    (void)state;
    fakeproc_t p;
    fakeproc_init(&p, "foreign_4789");
    fake_process(&p, 812, "dockerd", "socket:[44444]");
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(p.root, &c, f);
    assert_int_equal(r.status, CHECK_OK);
    check_result_clear(&r);
    free(f);
    fakeproc_destroy(&p);
}

/* Every process's fds were readable and none holds the 4789 socket: it is a
 * kernel socket with an inode (docker's vxlan device, as seen in the lab), not
 * a conflict. */
static void test_ports_4789_socket_no_process_holds_is_kernel(void **state)
{
    (void)state;
    fakeproc_t p;
    fakeproc_init(&p, "foreign_4789");
    fake_process(&p, 100, "sshd", "socket:[21004]");
    agent_conf_t c = conf_default_ports();
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(p.root, &c, f);
    assert_int_equal(r.status, CHECK_OK);
    json_t *h = json_array_get(json_object_get(json_object_get(r.values, "vxlan"), "holders"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "kind")), "kernel");
    assert_true(json_is_true(json_object_get(h, "docker")));
    check_result_clear(&r);
    free(f);
    fakeproc_destroy(&p);
}

static void test_ports_conflict_and_missing_ports_share_the_summary(void **state)
{
    (void)state;
    fakeproc_t p;
    fakeproc_init(&p, "foreign_4789");
    fake_process(&p, 4321, "nc", "socket:[44444]");
    agent_conf_t c = conf_default_ports();
    c.tcp_ports[c.n_tcp_ports++] = 443; /* nobody listens there */
    ports_facts_t *f = malloc(sizeof *f);
    check_result_t r = run_on(p.root, &c, f);
    assert_int_equal(r.status, CHECK_WARN);
    assert_summary_has(&r, "held by nc");
    assert_summary_has(&r, "; not listening: tcp 443");
    assert_reasons(&r, "vxlan_conflict", "tcp_443_not_listening", NULL);
    check_result_clear(&r);
    free(f);
    fakeproc_destroy(&p);
}

/* The real /proc: whatever listens here, the check is judged, not unknown. */
static void test_ports_probe_on_real_proc(void **state)
{
    (void)state;
    agent_conf_t c = conf_default_ports();
    check_result_t r;
    check_result_init(&r, "ports");
    check_ports_run(&c, NULL, &r);
    assert_true(r.status == CHECK_OK || r.status == CHECK_WARN);
    assert_non_null(json_object_get(r.values, "tcp"));
    check_result_clear(&r);
}

/* The real thing: this test process binds UDP 127.0.0.1:4789 (loopback, no
 * traffic) and the probe on the real /proc must find it and name us. Our
 * own fds are readable without privilege. */
static void test_ports_real_user_socket_on_4789_is_found_and_named(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORTS_VXLAN)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        skip(); /* 4789 taken in this network namespace: nothing to learn */
    }
    char comm[32] = "";
    FILE *cf = fopen("/proc/self/comm", "r");
    assert_non_null(cf);
    assert_non_null(fgets(comm, sizeof comm, cf));
    fclose(cf);
    comm[strcspn(comm, "\n")] = '\0';

    agent_conf_t c = conf_default_ports();
    check_result_t r;
    check_result_init(&r, "ports");
    check_ports_run(&c, NULL, &r);
    close(fd);
    assert_int_equal(r.status, CHECK_WARN);
    char want[96];
    snprintf(want, sizeof want, "held by %s (pid %d), not dockerd", comm, (int)getpid());
    assert_summary_has(&r, want);
    json_t *holders = json_object_get(json_object_get(r.values, "vxlan"), "holders");
    json_t *mine = NULL;
    for (size_t i = 0; i < json_array_size(holders); i++)
        if (json_integer_value(json_object_get(json_array_get(holders, i), "pid")) == getpid())
            mine = json_array_get(holders, i);
    assert_non_null(mine);
    assert_string_equal(json_string_value(json_object_get(mine, "address")), "127.0.0.1");
    assert_true(json_is_false(json_object_get(mine, "docker")));
    check_result_clear(&r);
}

/* A real TCP listener on an ephemeral loopback port is found the same way
 * by the live path (sock_diag) and by reading /proc/net/tcp; a port nobody
 * listens on is missing in both. */
static void test_ports_live_sock_diag_agrees_with_proc_files(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);

    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.tcp_ports[0] = port;
    c.tcp_ports[1] = port == 65535 ? 65534 : port + 1; /* almost surely free */
    c.n_tcp_ports = 2;
    char other[16];
    snprintf(other, sizeof other, "%d", c.tcp_ports[1]);
    /* where netlink works at all, the live path must have used it */
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    bool have_diag = nl >= 0;
    if (nl >= 0)
        close(nl);

    ports_facts_t *f = malloc(sizeof *f);
    for (int pass = 0; pass < 2; pass++) {
        check_result_t r;
        check_result_init(&r, "ports");
        check_ports_probe(&c, pass == 0 ? NULL : "/proc", f);
        check_ports_eval(f, &c, &r);
        char key[16];
        snprintf(key, sizeof key, "%d", port);
        json_t *tcp = json_object_get(r.values, "tcp");
        json_t *mine = json_object_get(tcp, key);
        assert_true(json_is_true(json_object_get(mine, "listening")));
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(mine, "addresses"), 0)), "127.0.0.1");
        bool other_listens =
            json_is_true(json_object_get(json_object_get(tcp, other), "listening"));
        if (!other_listens) {
            assert_int_equal(r.status, CHECK_WARN);
            assert_summary_has(&r, other);
        }
        const char *source = json_string_value(json_object_get(r.values, "tcp_source"));
        if (pass == 1 || !have_diag)
            assert_string_equal(source, "proc");
        else
            assert_string_equal(source, "sock_diag");
        check_result_clear(&r);
    }
    free(f);
    close(fd);
}

/* A bound UDP socket on an ephemeral loopback port is found by the live
 * path (sock_diag, through the netlink socket the check keeps in its state
 * across runs) and by reading /proc/net/udp; a connected one on the same
 * kind of port is not "bound", and a port nobody holds is missing. */
static void test_ports_live_udp_sock_diag_agrees_with_proc_files(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);
    /* a connected UDP socket (state ESTABLISHED) on another port */
    int cfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(cfd >= 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct sockaddr_in ca;
    sl = sizeof ca;
    assert_int_equal(getsockname(cfd, (struct sockaddr *)&ca, &sl), 0);
    int cport = ntohs(ca.sin_port);

    agent_conf_t c;
    memset(&c, 0, sizeof c);
    c.udp_ports[0] = port;
    c.udp_ports[1] = cport;
    c.n_udp_ports = 2;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    bool have_diag = nl >= 0;
    if (nl >= 0)
        close(nl);

    char key[16], ckey[16];
    snprintf(key, sizeof key, "%d", port);
    snprintf(ckey, sizeof ckey, "%d", cport);
    void *st = NULL;
    ports_facts_t *f = malloc(sizeof *f);
    assert_non_null(f);
    /* runs 0 and 1: the live path with a kept state; run 2: /proc files */
    for (int pass = 0; pass < 3; pass++) {
        check_result_t r;
        check_result_init(&r, "ports");
        if (pass < 2) {
            check_ports_run(&c, &st, &r);
            assert_non_null(st);
        } else {
            check_ports_probe(&c, "/proc", f);
            check_ports_eval(f, &c, &r);
        }
        json_t *udp = json_object_get(r.values, "udp");
        json_t *mine = json_object_get(udp, key);
        assert_true(json_is_true(json_object_get(mine, "listening")));
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(mine, "addresses"), 0)), "127.0.0.1");
        assert_true(json_is_false(json_object_get(json_object_get(udp, ckey), "listening")));
        assert_int_equal(r.status, CHECK_WARN);
        assert_summary_has(&r, ckey);
        const char *source = json_string_value(json_object_get(r.values, "udp_source"));
        if (pass == 2 || !have_diag)
            assert_string_equal(source, "proc");
        else
            assert_string_equal(source, "sock_diag");
        check_result_clear(&r);
    }
    check_ports_state_free(st);
    free(f);
    close(cfd);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_parse_line_ipv4_ipv6_and_header),
        cmocka_unit_test(test_ports_all_required_listening_is_ok),
        cmocka_unit_test(test_ports_missing_listeners_warn_and_are_listed),
        cmocka_unit_test(test_ports_ipv6_disabled_is_not_an_error),
        cmocka_unit_test(test_ports_garbage_lines_are_skipped),
        cmocka_unit_test(test_ports_unreadable_proc_net_tcp_is_unknown),
        cmocka_unit_test(test_ports_4789_held_by_foreign_process_warns_naming_it),
        cmocka_unit_test(test_ports_4789_held_by_dockerd_is_ok),
        cmocka_unit_test(test_ports_4789_socket_no_process_holds_is_kernel),
        cmocka_unit_test(test_ports_conflict_and_missing_ports_share_the_summary),
        cmocka_unit_test(test_ports_probe_on_real_proc),
        cmocka_unit_test(test_ports_real_user_socket_on_4789_is_found_and_named),
        cmocka_unit_test(test_ports_live_sock_diag_agrees_with_proc_files),
        cmocka_unit_test(test_ports_live_udp_sock_diag_agrees_with_proc_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
