/* cli.h - what the drt subcommands share. */
#ifndef DRT_TOOL_CLI_H
#define DRT_TOOL_CLI_H

#include <stdbool.h>

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    void (*usage)(void);
};

/* True when argv holds "--help" or "-h". */
bool cli_wants_help(int argc, char **argv);
/* True when argv holds "--json" (and removes nothing: callers scan themselves). */
bool cli_wants_json(int argc, char **argv);

int cmd_version(int argc, char **argv);
void usage_version(void);
int cmd_explain(int argc, char **argv);
void usage_explain(void);
int cmd_sim(int argc, char **argv);
void usage_sim(void);
int cmd_demo(int argc, char **argv);
void usage_demo(void);
int cmd_node(int argc, char **argv);
void usage_node(void);
int cmd_search(int argc, char **argv);
void usage_search(void);
int cmd_cert(int argc, char **argv);
void usage_cert(void);
int cmd_key(int argc, char **argv);
void usage_key(void);
int cmd_keymgr(int argc, char **argv);
void usage_keymgr(void);

#endif
