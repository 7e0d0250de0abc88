/* quoratectl's subcommands. Each takes argc/argv starting at the subcommand
 * name and returns the process exit code. Exit codes: 0 success, 1 a negative
 * answer (no valid plan, refused, unreachable), 2 bad usage or bad input. */
#ifndef QR_CTL_H
#define QR_CTL_H

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} ctl_command_t;

int ctl_plan_main(int argc, char **argv);
int ctl_recover_main(int argc, char **argv);
int ctl_rejoin_main(int argc, char **argv);
int ctl_audit_main(int argc, char **argv);
int ctl_status_main(int argc, char **argv);
int ctl_checks_main(int argc, char **argv);
int ctl_inventory_main(int argc, char **argv);
int ctl_keygen_main(int argc, char **argv);
int ctl_ports_main(int argc, char **argv);
int ctl_alerts_main(int argc, char **argv);
int ctl_takeover_main(int argc, char **argv);
int ctl_apply_main(int argc, char **argv);
int ctl_decommission_main(int argc, char **argv);

#endif
