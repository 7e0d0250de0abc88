/* quoratectl keygen NAME: writes a CURVE keypair (czmq certificate files). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "keys.h"

int ctl_keygen_main(int argc, char **argv)
{
    const char *dir = ".", *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: quoratectl keygen NAME [--dir DIR]\n"
                   "Writes DIR/NAME.key (public: copy it into the allowlist directory of the\n"
                   "peers that must accept NAME) and DIR/NAME.key_secret (mode 0600: keep it\n"
                   "on NAME's machine). Never overwrites. Prints the public key.\n");
            return 0;
        }
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (argv[i][0] != '-' && !name) {
            name = argv[i];
        } else {
            fprintf(stderr, "quoratectl keygen: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!name) {
        fprintf(stderr, "usage: quoratectl keygen NAME [--dir DIR]\n");
        return 2;
    }
    char pub[41];
    qr_err_t err = {{0}};
    if (keys_generate(dir, name, pub, &err) != 0) {
        fprintf(stderr, "quoratectl keygen: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", pub);
    return 0;
}
