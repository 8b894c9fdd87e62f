/* learn-bench: the two measurements the learner benchmark needs.
 *
 *   learn-bench loop FILE          an empty libpcap read loop (pcap_next_ex, nothing else):
 *                                  the baseline polc learn is compared with
 *   learn-bench run -- CMD ARG...  runs a command; wall time and peak RSS (of the child)
 *
 * Output: one line of key=value pairs.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int loop(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	double t0 = now();
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "learn-bench: %s\n", err);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned long long n = 0, bytes = 0;
	unsigned sum = 0;
	while (pcap_next_ex(p, &h, &d) == 1) {
		n++;
		bytes += h->caplen;
		sum += d[0]; /* touch the packet, as any reader must */
	}
	pcap_close(p);
	double s = now() - t0;
	printf("packets=%llu bytes=%llu seconds=%.3f pps=%.0f check=%u\n", n, bytes, s,
	       s > 0 ? (double)n / s : 0, sum & 1);
	return 0;
}

static int run(char **cmd)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(cmd[0], cmd);
		perror(cmd[0]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 1;
	}
	double s = now() - t0;
	printf("seconds=%.3f maxrss_kb=%ld user=%.3f sys=%.3f status=%d\n", s, ru.ru_maxrss,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "loop"))
		return loop(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "run") && !strcmp(argv[2], "--"))
		return run(argv + 3);
	fprintf(stderr, "usage: learn-bench loop FILE | learn-bench run -- CMD [ARG...]\n");
	return 2;
}
