/* quoratectl: the operator's tool. Dispatches to one ctl_<command>.c each. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

static const ctl_command_t commands[] = {
    /* one line per subcommand, in the order of `quoratectl --help` */
    {"status", ctl_status_main, "the live cluster view: nodes, liveness, clocks, checks"},
    {"checks", ctl_checks_main, "every check of one node with its measured values"},
    {"ports", ctl_ports_main, "the reachability matrix of the required ports between hosts"},
    {"alerts", ctl_alerts_main, "alerts pending and firing, where they were sent; test a receiver"},
    {"apply", ctl_apply_main, "apply the live plan's label changes through a swarm manager"},
    {"decommission", ctl_decommission_main, "drain, move labels, demote and remove a node (--yes)"},
    {"takeover", ctl_takeover_main, "lead alone after the controller majority is lost (--force)"},
    {"inventory", ctl_inventory_main, "the live inventory in the planner's JSON format"},
    {"keygen", ctl_keygen_main, "write a CURVE keypair for an agent, controller or operator"},
    {"recover", ctl_recover_main, "evidence, plan and (confirmed) forced replica-set recovery after losing a DC's majority"},
    {"rejoin", ctl_rejoin_main, "plan re-adding the members a forced recovery removed, once they are back"},
    {"audit", ctl_audit_main, "the replicated audit log: applies, takeovers, recovery steps"},
    {"plan", ctl_plan_main, "plan labels and MongoDB placement offline from an inventory"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: quoratectl COMMAND [OPTIONS]\n\ncommands:\n");
    for (const ctl_command_t *c = commands; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\n'quoratectl COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    log_init("quoratectl", LOG_LVL_WARN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (const ctl_command_t *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "quoratectl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
