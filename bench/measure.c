/* bench-measure: runs a command and reports its wall time, CPU time and peak RSS, so that a
 * baseline and a subject are measured the same way (and /usr/bin/time is not needed).
 *
 *   bench-measure [-o FILE] -- COMMAND [ARG...]
 *
 * The command's stdout goes to FILE (default /dev/null); its stderr is passed through. One
 * line on stdout: wall_s S user_s S sys_s S maxrss_kb N status N
 * The exit status is 0 unless the command could not be started or was killed by a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *out = "/dev/null";
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else
			goto usage;
	if (i + 1 >= argc)
		goto usage;
	char **cmd = argv + i + 1;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (fd < 0 || dup2(fd, 1) < 0) {
			perror(out);
			_exit(127);
		}
		close(fd);
		execvp(cmd[0], cmd);
		perror(cmd[0]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("wait4");
			return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double wall = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("wall_s %.6f user_s %.6f sys_s %.6f maxrss_kb %ld status %d\n", wall, tv(ru.ru_utime),
	       tv(ru.ru_stime), ru.ru_maxrss, code);
	return WIFEXITED(status) && code != 127 ? 0 : 1;
usage:
	fputs("usage: bench-measure [-o FILE] -- COMMAND [ARG...]\n", stderr);
	return 2;
}
