/* penmark: the command. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    puts("usage: penmark COMMAND ...");
    return argc < 2 ? 2 : 0;
  }
  fprintf(stderr, "penmark: unknown command '%s'\n", argv[1]);
  return 2;
}
