/* Label changes through docker_api_node_set_labels. */
#include "labeler.h"

#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "err.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *labeler_apply(const char *docker_socket, int timeout_ms, const json_t *changes)
{
    json_t *results = json_array();
    size_t ok = 0, failed = 0, n = json_object_size(changes), k = 0;
    const char **names = calloc(n ? n : 1, sizeof *names);
    docker_api_t *api = docker_api_new(docker_socket, timeout_ms);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)changes, key, v) names[k++] = key;
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t i = 0; i < k; i++) {
        json_t *ch = json_object_get(changes, names[i]);
        json_t *add = json_object_get(ch, "add"), *rm = json_object_get(ch, "remove");
        json_t *labels = NULL;
        int attempts = 0;
        qr_err_t err = {{0}};
        int rc = !api ? QR_ENOMEM
                 : (add && !json_is_object(add)) || (rm && !json_is_array(rm))
                     ? qr_err_set(&err, QR_EINVAL, "malformed change")
                     : docker_api_node_set_labels(api, names[i], add ? add : NULL,
                                                  rm ? rm : NULL, NULL, &labels, &attempts,
                                                  &err);
        json_t *r = json_pack("{s:s, s:b, s:i}", "node", names[i], "ok", rc == 0, "attempts",
                              attempts);
        if (rc == 0) {
            json_object_set_new(r, "labels", labels ? labels : json_object());
            ok++;
        } else {
            json_decref(labels);
            json_object_set_new(r, "error", json_string(err.msg[0] ? err.msg : qr_strerror(rc)));
            failed++;
        }
        json_array_append_new(results, r);
    }
    docker_api_destroy(&api);
    free(names);
    return json_pack("{s:o, s:I, s:I}", "results", results, "applied", (json_int_t)ok, "failed",
                     (json_int_t)failed);
}
