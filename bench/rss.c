/* rss: runs a command and reports its peak resident set size.
 *
 *   rss FILE COMMAND [ARG...]
 *
 * Runs COMMAND (standard streams passed through), then writes its peak RSS
 * in kB (ru_maxrss of the child, from wait4) as one line into FILE and
 * exits with the command's status. For bench/train.sh, where GNU time may
 * not be installed. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fputs("usage: rss FILE COMMAND [ARG...]\n", stderr);
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("rss: fork");
    return 1;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("rss: wait4");
    return 1;
  }
  FILE *f = fopen(argv[1], "w");
  if (!f || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f) != 0) {
    perror(argv[1]);
    return 1;
  }
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
