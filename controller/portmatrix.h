/* The reachability matrix: which host reaches which peer's required ports.
 * Pure: the server starts a round (one probe command per up agent), feeds
 * the agents' results in, and asks for the JSON view. */
#ifndef QR_PORTMATRIX_H
#define QR_PORTMATRIX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct portmatrix portmatrix_t;

portmatrix_t *portmatrix_new(void);
void portmatrix_destroy(portmatrix_t **self_p);

/* Starts round `round` expecting a result from each of the n nodes. */
void portmatrix_begin(portmatrix_t *pm, uint64_t round, int64_t now_ms, const char **nodes,
                      size_t n);
/* Stores the results (an array of {node,address,port,ok,ms|error}) of `from`
 * for `round`; results of other rounds are ignored. Returns true when every
 * expected node of the round has answered. */
bool portmatrix_result(portmatrix_t *pm, uint64_t round, const char *from, json_t *results,
                       int64_t now_ms);
bool portmatrix_complete(const portmatrix_t *pm);
uint64_t portmatrix_round(const portmatrix_t *pm);

/* {"round","age_ms","complete","missing":[nodes],"results":[{from,to,port,ok,error}],
 *  "blocked":[{from,to,port,error}],"udp":"cannot verify: ..."} (new reference). */
json_t *portmatrix_json(const portmatrix_t *pm, int64_t now_ms);

#endif
