/* quorate-agent: runs the local checks and reports them to the controllers. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "quorate-agent: not built yet\n");
    return 3;
}
