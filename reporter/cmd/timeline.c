#include "cli.h"
int cmd_timeline(int argc, char **argv) { (void)argc; (void)argv; return 0; }
