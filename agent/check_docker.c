/* The docker check: probe through docker_api, parse the Engine API 1.41
 * replies into facts, evaluate the facts (pure). A swarm without a leader
 * makes manager calls hang for 20 s, so every call is bounded by
 * docker_timeout_ms and a timed-out /nodes is reported as a likely
 * leaderless window, not as a mystery. */
#include "check_docker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounded copy that always terminates (long input is cut, not an error). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}
#define COPY(dst, src) copy_str((dst), sizeof(dst), (src))

void check_docker_facts_init(check_docker_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->version_rc = f->info_rc = f->nodes_rc = f->services_rc = QR_EUNAVAIL;
}

void check_docker_facts_clear(check_docker_facts_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_nodes; i++)
        json_decref(f->node_list[i].labels);
    free(f->node_list);
    free(f->services);
    check_docker_facts_init(f);
}

/* A string member, "" when absent; -1 when present with another type. */
static int get_str(const json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static int get_long(const json_t *obj, const char *key, long *out)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
        return -1;
    *out = (long)json_integer_value(v);
    return 0;
}

int check_docker_parse_version(const json_t *v, check_docker_facts_t *f, qr_err_t *err)
{
    const char *ver, *api;
    f->engine_version[0] = f->api_version[0] = '\0';
    if (!json_is_object(v) || get_str(v, "Version", &ver) || get_str(v, "ApiVersion", &api) ||
        !ver[0])
        return qr_err_set(err, QR_EPARSE, "/version: no Version string");
    COPY(f->engine_version, ver);
    COPY(f->api_version, api);
    return 0;
}

int check_docker_parse_info(const json_t *info, check_docker_facts_t *f, qr_err_t *err)
{
    const json_t *sw = json_object_get(info, "Swarm");
    const char *state, *nid, *addr, *e;
    long managers, nodes;
    json_t *ca = json_object_get(sw, "ControlAvailable");
    json_t *rm = json_object_get(sw, "RemoteManagers");
    f->swarm_state[0] = f->node_id[0] = f->swarm_error[0] = f->node_addr[0] = '\0';
    if (!json_is_object(info) || !json_is_object(sw))
        return qr_err_set(err, QR_EPARSE, "/info: no Swarm object");
    if (get_str(sw, "LocalNodeState", &state) || get_str(sw, "NodeID", &nid) ||
        get_str(sw, "NodeAddr", &addr) || get_str(sw, "Error", &e) ||
        get_long(sw, "Managers", &managers) || get_long(sw, "Nodes", &nodes) ||
        (ca && !json_is_boolean(ca)) || (rm && !json_is_array(rm) && !json_is_null(rm)))
        return qr_err_set(err, QR_EPARSE, "/info: Swarm fields of the wrong type");
    COPY(f->swarm_state, state[0] ? state : "inactive");
    COPY(f->node_id, nid);
    COPY(f->node_addr, addr);
    COPY(f->swarm_error, e);
    f->control_available = json_is_true(ca);
    f->managers = managers;
    f->nodes = nodes;
    f->remote_managers = json_is_array(rm) ? json_array_size(rm) : 0;
    return 0;
}

/* Copies the string-valued labels; a non-string value is malformed. */
static json_t *copy_labels(const json_t *labels)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!out || (labels && !json_is_object(labels) && !json_is_null(labels))) {
        json_decref(out);
        return NULL;
    }
    json_object_foreach((json_t *)labels, k, v) {
        if (!json_is_string(v)) {
            json_decref(out);
            return NULL;
        }
        json_object_set(out, k, v);
    }
    return out;
}

static int parse_node(const json_t *n, check_docker_node_t *o)
{
    const json_t *spec = json_object_get(n, "Spec");
    const json_t *st = json_object_get(n, "Status");
    const json_t *ms = json_object_get(n, "ManagerStatus");
    const json_t *desc = json_object_get(n, "Description");
    const char *id, *host, *role, *avail, *state, *reach, *addr, *ev;
    long version;
    json_t *leader = json_object_get(ms, "Leader");
    if (!json_is_object(n) || !json_is_object(spec) || get_str(n, "ID", &id) || !id[0] ||
        get_str(json_object_get(desc, "Engine"), "EngineVersion", &ev) ||
        get_str(desc, "Hostname", &host) || get_str(spec, "Role", &role) ||
        get_str(spec, "Availability", &avail) || get_str(st, "State", &state) ||
        get_str(st, "Addr", &addr) || get_str(ms, "Reachability", &reach) ||
        get_long(json_object_get(n, "Version"), "Index", &version) ||
        (leader && !json_is_boolean(leader)))
        return -1;
    o->labels = copy_labels(json_object_get(spec, "Labels"));
    if (!o->labels)
        return -1;
    COPY(o->id, id);
    COPY(o->hostname, host);
    COPY(o->role, role);
    COPY(o->availability, avail);
    COPY(o->state, state);
    COPY(o->reachability, reach);
    COPY(o->addr, addr);
    COPY(o->engine_version, ev);
    o->leader = json_is_true(leader);
    o->version = (uint64_t)version;
    return 0;
}

int check_docker_parse_nodes(const json_t *nodes, check_docker_facts_t *f, qr_err_t *err)
{
    for (size_t i = 0; i < f->n_nodes; i++)
        json_decref(f->node_list[i].labels);
    free(f->node_list);
    f->node_list = NULL;
    f->n_nodes = 0;
    if (!json_is_array(nodes))
        return qr_err_set(err, QR_EPARSE, "/nodes: not an array");
    size_t n = json_array_size(nodes);
    if (n > CHECK_DOCKER_MAX_NODES)
        return qr_err_set(err, QR_ETOOBIG, "/nodes: %zu nodes (more than %d)", n,
                          CHECK_DOCKER_MAX_NODES);
    if (n == 0)
        return 0;
    check_docker_node_t *list = calloc(n, sizeof *list);
    if (!list)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (parse_node(json_array_get(nodes, i), &list[i])) {
            for (size_t j = 0; j < i; j++)
                json_decref(list[j].labels);
            free(list);
            return qr_err_set(err, QR_EPARSE, "/nodes: entry %zu is malformed", i);
        }
    }
    f->node_list = list;
    f->n_nodes = n;
    return 0;
}

int check_docker_parse_services(const json_t *services, const json_t *tasks,
                                check_docker_facts_t *f, qr_err_t *err)
{
    free(f->services);
    f->services = NULL;
    f->n_services = 0;
    if (!json_is_array(services) || !json_is_array(tasks))
        return qr_err_set(err, QR_EPARSE, "/services or /tasks: not an array");
    size_t n = json_array_size(services);
    if (n > CHECK_DOCKER_MAX_SERVICES)
        return qr_err_set(err, QR_ETOOBIG, "/services: %zu services (more than %d)", n,
                          CHECK_DOCKER_MAX_SERVICES);
    if (n == 0)
        return 0;
    check_docker_service_t *list = calloc(n, sizeof *list);
    json_t *index = json_object(); /* service id -> position */
    long *desired_tasks = calloc(n, sizeof *desired_tasks);
    int rc = 0;
    if (!list || !index || !desired_tasks) {
        rc = qr_err_set(err, QR_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *s = json_array_get(services, i);
        const json_t *spec = json_object_get(s, "Spec");
        const json_t *mode = json_object_get(spec, "Mode");
        const char *id, *name;
        if (!json_is_object(s) || get_str(s, "ID", &id) || !id[0] || !json_is_object(spec) ||
            get_str(spec, "Name", &name) || !json_is_object(mode)) {
            rc = qr_err_set(err, QR_EPARSE, "/services: entry %zu is malformed", i);
            break;
        }
        COPY(list[i].id, id);
        COPY(list[i].name, name[0] ? name : id);
        list[i].desired = -1;
        const json_t *repl = json_object_get(mode, "Replicated");
        if (repl) {
            long replicas;
            if (!json_is_object(repl) || get_long(repl, "Replicas", &replicas)) {
                rc = qr_err_set(err, QR_EPARSE, "/services: %s: bad Replicas", list[i].name);
                break;
            }
            COPY(list[i].mode, "replicated");
            list[i].desired = replicas;
        } else if (json_object_get(mode, "Global")) {
            COPY(list[i].mode, "global");
        } else if (json_object_get(mode, "ReplicatedJob")) {
            COPY(list[i].mode, "replicated-job");
        } else if (json_object_get(mode, "GlobalJob")) {
            COPY(list[i].mode, "global-job");
        } else {
            COPY(list[i].mode, "unknown");
        }
        json_object_set_new(index, id, json_integer((json_int_t)i));
    }
    size_t ti;
    const json_t *t;
    json_array_foreach(tasks, ti, t) {
        if (rc)
            break;
        const char *sid, *desired, *state;
        if (!json_is_object(t) || get_str(t, "ServiceID", &sid) ||
            get_str(t, "DesiredState", &desired) ||
            get_str(json_object_get(t, "Status"), "State", &state)) {
            rc = qr_err_set(err, QR_EPARSE, "/tasks: entry %zu is malformed", ti);
            break;
        }
        json_t *pos = json_object_get(index, sid);
        if (!pos || strcmp(desired, "running") != 0)
            continue; /* a task of a service created since /services, or not wanted */
        size_t i = (size_t)json_integer_value(pos);
        desired_tasks[i]++;
        if (strcmp(state, "running") == 0)
            list[i].running++;
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (strcmp(list[i].mode, "global") == 0)
            list[i].desired = desired_tasks[i];
out:
    json_decref(index);
    free(desired_tasks);
    if (rc) {
        free(list);
        return rc;
    }
    f->services = list;
    f->n_services = n;
    return 0;
}

void check_docker_probe(docker_api_t *api, check_docker_facts_t *f)
{
    check_docker_probe_cached(api, f, NULL);
}

void check_docker_probe_cached(docker_api_t *api, check_docker_facts_t *f,
                               const check_docker_facts_t *version)
{
    qr_err_t err = {""};
    json_t *j = NULL, *t = NULL;
    COPY(f->socket, docker_api_socket(api));

    if (version) { /* the engine did not change since the last cycles */
        COPY(f->engine_version, version->engine_version);
        COPY(f->api_version, version->api_version);
        f->version_rc = 0;
    } else {
        f->version_rc = docker_api_version(api, &j, &err);
        if (!f->version_rc)
            f->version_rc = check_docker_parse_version(j, f, &err);
    }
    json_decref(j);
    j = NULL;
    if (f->version_rc) {
        COPY(f->version_error, err.msg);
        return;
    }

    f->info_rc = docker_api_info(api, &j, &err);
    if (!f->info_rc)
        f->info_rc = check_docker_parse_info(j, f, &err);
    json_decref(j);
    j = NULL;
    if (f->info_rc) {
        COPY(f->info_error, err.msg);
        return;
    }
    if (strcmp(f->swarm_state, "active") != 0 || !f->control_available)
        return; /* /nodes and /services answer only on a manager */

    f->nodes_probed = true;
    f->nodes_rc = docker_api_nodes(api, &j, &err);
    if (!f->nodes_rc)
        f->nodes_rc = check_docker_parse_nodes(j, f, &err);
    json_decref(j);
    j = NULL;
    if (f->nodes_rc) {
        COPY(f->nodes_error, err.msg);
        return; /* no leader: the next calls would time out as well */
    }

    f->services_probed = true;
    f->services_rc = docker_api_services(api, &j, &err);
    if (!f->services_rc)
        f->services_rc = docker_api_tasks_running(api, &t, &err);
    if (!f->services_rc)
        f->services_rc = check_docker_parse_services(j, t, f, &err);
    json_decref(j);
    json_decref(t);
    if (f->services_rc)
        COPY(f->services_error, err.msg);
}

static const check_docker_node_t *self_node(const check_docker_facts_t *f)
{
    for (size_t i = 0; i < f->n_nodes; i++)
        if (f->node_id[0] && strcmp(f->node_list[i].id, f->node_id) == 0)
            return &f->node_list[i];
    return NULL;
}

static json_t *node_json(const check_docker_node_t *n)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:I}", "id", n->id, "hostname",
                          n->hostname, "role", n->role, "state", n->state, "availability",
                          n->availability, "addr", n->addr, "leader", n->leader, "labels",
                          n->labels ? json_incref(n->labels) : json_object(), "version",
                          (json_int_t)n->version);
    if (o && n->reachability[0])
        json_object_set_new(o, "reachability", json_string(n->reachability));
    return o;
}

static void put_values(const check_docker_facts_t *f, json_t *v)
{
    json_object_set_new(v, "socket", json_string(f->socket));
    if (f->version_rc)
        return;
    json_object_set_new(v, "engine_version", json_string(f->engine_version));
    json_object_set_new(v, "api_version", json_string(f->api_version));
    if (f->info_rc)
        return;
    json_object_set_new(v, "swarm_state", json_string(f->swarm_state));
    if (f->swarm_error[0])
        json_object_set_new(v, "swarm_error", json_string(f->swarm_error));
    if (strcmp(f->swarm_state, "active") != 0)
        return;
    json_object_set_new(v, "node_id", json_string(f->node_id));
    json_object_set_new(v, "node_addr", json_string(f->node_addr));
    json_object_set_new(v, "role", json_string(f->control_available ? "manager" : "worker"));
    json_object_set_new(v, "control_available", json_boolean(f->control_available));
    json_object_set_new(v, "managers", json_integer(f->managers));
    json_object_set_new(v, "nodes", json_integer(f->nodes));
    json_object_set_new(v, "remote_managers", json_integer((json_int_t)f->remote_managers));
    if (f->nodes_probed && f->nodes_rc) {
        /* a manager whose control plane does not answer: no Raft leader */
        json_object_set_new(v, "nodes_error", json_string(f->nodes_error));
        if (strstr(f->nodes_error, "does not have a leader") || f->nodes_rc == QR_ETIMEOUT)
            json_object_set_new(v, "has_leader", json_false());
    }
    if (!f->nodes_probed || f->nodes_rc)
        return;
    const check_docker_node_t *me = self_node(f);
    bool has_leader = false;
    json_t *nodes = json_array();
    for (size_t i = 0; i < f->n_nodes; i++) {
        has_leader |= f->node_list[i].leader;
        json_array_append_new(nodes, node_json(&f->node_list[i]));
    }
    size_t reachable = 0;
    for (size_t i = 0; i < f->n_nodes; i++)
        reachable += strcmp(f->node_list[i].role, "manager") == 0 &&
                     strcmp(f->node_list[i].reachability, "reachable") == 0;
    json_object_set_new(v, "managers_reachable", json_integer((json_int_t)reachable));
    json_object_set_new(v, "is_leader", json_boolean(me && me->leader));
    json_object_set_new(v, "has_leader", json_boolean(has_leader));
    if (me)
        json_object_set(v, "labels", me->labels);
    json_object_set_new(v, "swarm_nodes", nodes);
    if (!f->services_probed || f->services_rc)
        return;
    json_t *svcs = json_array();
    for (size_t i = 0; i < f->n_services; i++) {
        const check_docker_service_t *s = &f->services[i];
        json_t *o = json_pack("{s:s, s:s, s:I}", "name", s->name, "mode", s->mode, "running",
                              (json_int_t)s->running);
        if (o)
            json_object_set_new(o, "desired",
                                s->desired >= 0 ? json_integer(s->desired) : json_null());
        json_array_append_new(svcs, o);
    }
    json_object_set_new(v, "services", svcs);
}

/* Findings on a manager that reads the cluster: leader, managers, nodes,
 * services. Each only warns: the engine and this node work. */
/* Appends ", name" (or "name" first) to a bounded list; a cut list ends "...". */
static void list_add(char *buf, size_t len, const char *name, const char *detail)
{
    size_t used = strlen(buf);
    if (used + 4 >= len)
        return;
    int n = snprintf(buf + used, len - used, "%s%s%s%s%s", used ? ", " : "", name,
                     detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    if (n < 0 || (size_t)n >= len - used)
        memcpy(buf + len - 4, "...", 4);
}

/* Findings on a manager that reads the cluster: leader, managers, nodes,
 * services. Each only warns: the engine and this node work. Reasons are
 * alert keys: never a node, service or error text (a new key each time the
 * names change); added worst first, in the order judged. */
static void eval_cluster(const check_docker_facts_t *f, check_result_t *out)
{
    if (f->nodes_rc) {
        if (strstr(f->nodes_error, "does not have a leader")) {
            check_result_worsen(out, CHECK_WARN,
                                "swarm has no leader (too few managers online): label updates "
                                "and scheduling are frozen");
            check_result_reason(out, "swarm_no_leader");
        } else if (f->nodes_rc == QR_ETIMEOUT) {
            check_result_worsen(out, CHECK_WARN,
                                "swarm manager, but the control plane does not answer (no "
                                "leader?): %s",
                                f->nodes_error);
            check_result_reason(out, "control_plane_timeout");
        } else {
            check_result_worsen(out, CHECK_WARN, "swarm manager, but listing nodes failed: %s",
                                f->nodes_error);
            check_result_reason(out, "nodes_list_failed");
        }
        return;
    }
    bool has_leader = false;
    size_t managers = 0, reachable = 0, n_unreach = 0, n_unready = 0, n_stale = 0;
    char unreach[160] = "", unready[160] = "", stale[160] = "";
    for (size_t i = 0; i < f->n_nodes; i++) {
        const check_docker_node_t *n = &f->node_list[i];
        has_leader |= n->leader;
        if (strcmp(n->role, "manager") == 0 && !n->reachability[0]) {
            /* the manager role without a ManagerStatus: not in the Raft (what
             * the other managers are after a --force-new-cluster) */
            n_stale++;
            list_add(stale, sizeof stale, n->hostname, NULL);
        } else if (strcmp(n->role, "manager") == 0) {
            managers++;
            if (strcmp(n->reachability, "reachable") == 0) {
                reachable++;
            } else {
                n_unreach++;
                list_add(unreach, sizeof unreach, n->hostname, NULL);
            }
        }
        if (strcmp(n->state, "ready") != 0) {
            n_unready++;
            list_add(unready, sizeof unready, n->hostname, n->state[0] ? n->state : "unknown");
        }
    }
    if (!has_leader) {
        check_result_worsen(out, CHECK_WARN,
                            "swarm has no leader: label updates and scheduling are frozen");
        check_result_reason(out, "swarm_no_leader");
    }
    if (n_unreach) {
        check_result_worsen(out, CHECK_WARN,
                            "swarm manager%s %s unreachable (%zu of %zu managers "
                            "reachable%s)",
                            n_unreach > 1 ? "s" : "", unreach, reachable, managers,
                            reachable * 2 > managers ? "" : ": no quorum, swarm frozen");
        /* losing the managers' majority freezes the swarm: its own key */
        if (reachable * 2 <= managers)
            check_result_reason(out, "managers_no_quorum");
        check_result_reason(out, "managers_unreachable");
    }
    if (n_stale) {
        check_result_worsen(out, CHECK_WARN,
                            "%s hold%s the manager role but %s not in the swarm's Raft (left "
                            "from a --force-new-cluster): docker node demote, then docker node rm",
                            stale, n_stale > 1 ? "" : "s", n_stale > 1 ? "are" : "is");
        check_result_reason(out, "managers_not_in_raft");
    }
    if (n_unready) {
        check_result_worsen(out, CHECK_WARN, "swarm node%s not ready: %s", n_unready > 1 ? "s" : "",
                            unready);
        check_result_reason(out, "nodes_not_ready");
    }
    if (f->services_probed && f->services_rc) {
        check_result_worsen(out, CHECK_WARN, "listing services failed: %s", f->services_error);
        check_result_reason(out, "services_list_failed");
        return;
    }
    for (size_t i = 0; i < f->n_services; i++) {
        const check_docker_service_t *s = &f->services[i];
        if (s->desired >= 0 && s->running < s->desired) {
            check_result_worsen(out, CHECK_WARN, "service %s: %ld of %ld replicas running", s->name,
                                s->running, s->desired);
            check_result_reason(out, "service_replicas_low");
        }
    }
}

void check_docker_eval(const check_docker_facts_t *f, const agent_conf_t *conf, check_result_t *out)
{
    (void)conf;
    put_values(f, out->values);
    out->summary[0] = '\0';
    json_object_set_new(out->values, "reasons", json_array());

    if (f->version_rc == QR_ETIMEOUT) {
        check_result_set(out, CHECK_UNKNOWN, "timed out: Docker Engine at %s does not answer (%s)",
                         f->socket, f->version_error);
        check_result_reason(out, "engine_timeout");
        return;
    }
    if (f->version_rc) {
        check_result_set(out, CHECK_FAIL, "Docker Engine unreachable: %s", f->version_error);
        check_result_reason(out, "engine_unreachable");
        return;
    }
    if (f->info_rc == QR_ETIMEOUT) {
        /* measured in the lab: a manager whose swarm lost its leader hangs
         * /info (it asks the leader for the node counts) for ~20 s */
        check_result_set(out, CHECK_WARN,
                         "Docker Engine %s answers, but /info does not (swarm manager without "
                         "a leader?): %s",
                         f->engine_version, f->info_error);
        check_result_reason(out, "info_timeout");
        return;
    }
    if (f->info_rc) {
        check_result_set(out, CHECK_FAIL, "Docker Engine %s answers, but /info failed: %s",
                         f->engine_version, f->info_error);
        check_result_reason(out, "info_failed");
        return;
    }
    const char *st = f->swarm_state;
    if (strcmp(st, "inactive") == 0) {
        check_result_set(out, CHECK_FAIL,
                         "swarm inactive: this node is not in a swarm (docker swarm init/join)");
        check_result_reason(out, "swarm_inactive");
        return;
    }
    if (strcmp(st, "pending") == 0) {
        check_result_set(out, CHECK_FAIL, "swarm pending: still joining%s%s",
                         f->swarm_error[0] ? ": " : "", f->swarm_error);
        check_result_reason(out, "swarm_pending");
        return;
    }
    if (strcmp(st, "locked") == 0) {
        check_result_set(out, CHECK_FAIL, "swarm locked: needs docker swarm unlock");
        check_result_reason(out, "swarm_locked");
        return;
    }
    if (strcmp(st, "active") != 0) {
        check_result_set(out, CHECK_FAIL, "swarm %s%s%s", st, f->swarm_error[0] ? ": " : "",
                         f->swarm_error);
        check_result_reason(out, "swarm_error");
        return;
    }

    if (!f->control_available) {
        if (f->remote_managers == 0) {
            check_result_worsen(out, CHECK_WARN, "swarm worker that knows no manager");
            check_result_reason(out, "worker_no_manager");
        } else {
            check_result_set(out, CHECK_OK, "Docker %s, swarm active, worker %s", f->engine_version,
                             f->node_id);
        }
        return;
    }
    if (f->nodes_probed)
        eval_cluster(f, out);
    if (out->summary[0] == '\0') {
        const check_docker_node_t *me = self_node(f);
        size_t n_ok = 0;
        for (size_t i = 0; i < f->n_services; i++)
            n_ok += f->services[i].desired < 0 || f->services[i].running >= f->services[i].desired;
        check_result_set(out, CHECK_OK,
                         "Docker %s, swarm active, manager%s %s, %ld managers, %ld nodes, "
                         "%zu/%zu services at full replicas",
                         f->engine_version, me && me->leader ? " (leader)" : "", f->node_id,
                         f->managers, f->nodes, n_ok, f->n_services);
    }
}

/* What run() keeps between cycles: the client and what it was built for. */
typedef struct {
    docker_api_t *api;
    int timeout_ms;
    check_docker_facts_t version; /* the last /version answer */
    unsigned version_age;         /* cycles since it was asked; 0: not known */
} docker_state_t;

/* /version changes only with an engine upgrade, which restarts dockerd (and
 * then /info fails once): asked every DOCKER_VERSION_EVERY cycles, not every
 * cycle (one request of five less, measured in tests/bench/agent_footprint) */
#define DOCKER_VERSION_EVERY 30

void check_docker_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    const char *sock = conf && conf->docker_socket ? conf->docker_socket : "/var/run/docker.sock";
    int timeout = conf && conf->docker_timeout_ms > 0 ? conf->docker_timeout_ms : 2000;
    docker_state_t *s = *state;
    if (s && (s->timeout_ms != timeout || strcmp(docker_api_socket(s->api), sock) != 0)) {
        check_docker_state_free(s); /* config reloaded with another socket */
        *state = s = NULL;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (s)
            s->api = docker_api_new(sock, timeout);
        if (!s || !s->api) {
            check_docker_state_free(s);
            check_result_set(out, CHECK_UNKNOWN, "out of memory");
            check_result_reason(out, "out_of_memory");
            return;
        }
        s->timeout_ms = timeout;
        *state = s;
    }
    check_docker_facts_t f;
    check_docker_facts_init(&f);
    bool cached = s->version_age > 0 && s->version_age < DOCKER_VERSION_EVERY;
    check_docker_probe_cached(s->api, &f, cached ? &s->version : NULL);
    if (f.version_rc || f.info_rc) {
        s->version_age = 0; /* ask again next cycle */
    } else if (!cached) {
        COPY(s->version.engine_version, f.engine_version);
        COPY(s->version.api_version, f.api_version);
        s->version_age = 1;
    } else {
        s->version_age++;
    }
    check_docker_eval(&f, conf, out);
    check_docker_facts_clear(&f);
}

void check_docker_state_free(void *state)
{
    docker_state_t *s = state;
    if (!s)
        return;
    docker_api_destroy(&s->api);
    free(s);
}
