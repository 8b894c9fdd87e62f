/* The runtime's userspace: applying an image to the kernel, and looking at what runs.
 *
 *   polc load     verify the image completely, fill new inner maps, freeze them, switch the
 *                 whole node with one update of the control word, attach last
 *   polc unload   remove everything load created
 *   polc status   what is active, per endpoint, with counters
 *   polc observe  verdict events, like `hubble observe`
 *
 * Functions return 0 or a negative errno and report through the diagnostics module.
 */
#ifndef POLC_LOADER_H
#define POLC_LOADER_H

#include "polc.h"

struct load_opts {
	const char *bpffs;     /* pin directory, default /sys/fs/bpf/polc */
	const char *state_dir; /* lock and a copy of the active image, default /run/polc */
	const char *node;      /* this node's name; default: the host name */
	const char **ifaces;   /* interfaces to attach to */
	size_t nifaces;
	const char *auto_pattern; /* with --attach auto: attach to interfaces matching this glob */
	bool force;               /* replace even with a lower or equal generation */
	bool fail_open;           /* with no valid image, let traffic pass (needs saying) */
	bool dry_run;             /* verifier and image checks only; touch nothing */
	bool force_clsact;        /* do not try tcx */
	bool watch;               /* after loading, attach to new wanted interfaces until SIGTERM */
	uint64_t events_per_sec;  /* verdict event rate limit per CPU */
};

void load_opts_defaults(struct load_opts *o);
int polc_load(const char *image_path, const struct load_opts *o, struct diag_sink *d);
int polc_unload(const struct load_opts *o, struct diag_sink *d);

int do_load(int argc, char **argv);
int do_unload(int argc, char **argv);
int do_status(int argc, char **argv);
int do_observe(int argc, char **argv);

#define LOAD_USAGE                                                                                \
	"usage: polc load IMAGE [--bpffs DIR] [--attach auto|IFACE]... [--node NAME]\n"           \
	"                 [--force] [--fail-open] [--dry-run] [--clsact] [--watch]\n"             \
	"                 [--state-dir DIR]\n"                                                    \
	"\n"                                                                                      \
	"Applies a compiled image to this node. The image is verified completely before the\n"   \
	"kernel is touched; new maps are filled and frozen, then the whole node switches with\n" \
	"one update (every packet sees all of the old image or all of the new). Programs are\n"  \
	"attached last. Re-applying the active image is a no-op; a lower or equal generation\n"  \
	"needs --force. With no valid image, enforced interfaces drop everything unless\n"       \
	"--fail-open is given.\n"                                                                \
	"\n"                                                                                      \
	"  --attach auto|IFACE  interfaces to enforce on (auto: every lxc* interface)\n"         \
	"  --dry-run            load the programs through the verifier and check the image only\n" \
	"  --clsact             attach with clsact even where tcx exists\n"                       \
	"  --watch              then keep running: attach to each new interface --attach names\n" \
	"                       or matches (a new pod's veth) as it appears, until SIGTERM\n"     \
	"\n"                                                                                      \
	"Exit status: 0 applied (or already active), 1 refused, 2 usage or input error."

#define UNLOAD_USAGE                                                                              \
	"usage: polc unload [--bpffs DIR] [--state-dir DIR]\n"                                    \
	"\n"                                                                                      \
	"Removes every program, link and map that polc load created.\n"                          \
	"\n"                                                                                      \
	"Exit status: 0 removed (or nothing there), 1 another loader holds the lock."

#define STATUS_USAGE                                                                              \
	"usage: polc status [--bpffs DIR] [--state-dir DIR] [--json]\n"                           \
	"\n"                                                                                      \
	"Shows the active generation and digest, the endpoints with their modes, entry counts\n" \
	"against capacity, drops by reason, and where programs are attached.\n"                   \
	"\n"                                                                                      \
	"Exit status: 0 enforcing (or running open by request), 1 nothing loaded or\n"          \
	"fail-closed (no valid image)."

#define OBSERVE_USAGE                                                                             \
	"usage: polc observe [--bpffs DIR] [--state-dir DIR] [--json] [--follow]\n"               \
	"\n"                                                                                      \
	"Prints verdict events like hubble observe: time, source and destination as workload\n"  \
	"names, port, verdict and the policy rule. Without --follow it prints what is queued\n"  \
	"and exits.\n"                                                                            \
	"\n"                                                                                      \
	"Exit status: 0, or 1 when nothing is loaded."

#endif
