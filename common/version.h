/* Version numbers: the product's and the wire protocol's. */
#ifndef QR_VERSION_H
#define QR_VERSION_H

#define QUORATE_VERSION "0.1.0"
/* Raised when a receiver must not interpret a message it does not fully
 * understand. Receivers drop envelopes with another major version. */
#define QR_PROTO_VERSION 1u

#endif
