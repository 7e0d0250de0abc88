/* quorate-controller: keeps the cluster view, plans, alerts. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "quorate-controller: not built yet\n");
    return 1;
}
