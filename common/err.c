/* The error table's strings and the detail helper. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *qr_strerror(int code)
{
    switch (code) {
    case QR_OK:
        return "success";
#define QR_ERR_CASE(name, msg) \
    case QR_E##name:           \
        return msg;
        QR_ERRORS(QR_ERR_CASE)
#undef QR_ERR_CASE
    default:
        return "unknown error";
    }
}

int qr_err_set(qr_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
