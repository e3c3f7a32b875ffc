/* drt - the libdrt command-line tool: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
    {"cert", "make a test root and node certificates (PEM) for the derived-key provider",
     cmd_cert, usage_cert},
    {"demo", "run a local demo of what libdrt does", cmd_demo, usage_demo},
    {"explain", "name an HRESULT code in words", cmd_explain, usage_explain},
    {"key", "print the DRT key derived from a certificate", cmd_key, usage_key},
    {"keymgr", "run an example key manager for the engine of another process", cmd_keymgr,
     usage_keymgr},
    {"node", "run one DRT node on UDP until Ctrl-C, registering keys", cmd_node, usage_node},
    {"search", "find a key (exact, nearest, range) from a resolve-only node", cmd_search,
     usage_search},
    {"sim", "run a simulated cloud of N nodes and measure lookups", cmd_sim, usage_sim},
    {"version", "print the library version", cmd_version, usage_version},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

bool cli_wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            return true;
    return false;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: drt <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'drt <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            commands[i].usage();
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "drt: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
