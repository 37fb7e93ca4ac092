// SPDX-License-Identifier: GPL-2.0
/*
 * dataset-dump: write a dataset's bytes to a file, so that another
 * system (zram, a userspace codec) can be fed exactly what the mem_arena
 * tools compress.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "util.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dataset", required_argument, NULL, 'd' },
		{ "mb", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dataset = "mixed", *path;
	unsigned long long mb = 16, seed = 1;
	char err[512];
	size_t len;
	void *buf;
	FILE *f;
	int c;

	tool_init("dataset-dump");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dataset = optarg; break;
		case 'm': mb = parse_num(optarg, "--mb", 1, 65536); break;
		case 's': seed = parse_num(optarg, "--seed", 0, ~0ULL); break;
		case 'h':
			printf("Usage: dataset-dump [--dataset NAME] [--mb N] [--seed N] FILE\n\n"
			       "Write N MiB (default 16) of a dataset (%s;\n"
			       "default mixed) to FILE, exactly as the tools generate it.\n",
			       DATASET_NAMES);
			return 0;
		default:
			die_bad_option(argv);
		}
	}
	if (optind + 1 != argc)
		die(2, "expected one FILE (try --help)");
	if (!dataset_valid(dataset))
		die(2, "--dataset: unknown '%s' (%s)", dataset, DATASET_NAMES);
	path = argv[optind];
	len = mb << 20;
	buf = malloc(len);
	if (!buf)
		die(1, "out of memory");
	if (dataset_fill(dataset, buf, len, seed, err, sizeof(err)))
		die(1, "%s", err);
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die(1, "%s: %s", path, strerror(errno));
	free(buf);
	return 0;
}
