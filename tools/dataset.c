// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"

#define STRIPE (64 * 1024)

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_random(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = xorshift(&s);

		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (unsigned char)xorshift(&s);
}

static void fill_repetitive(unsigned char *p, size_t len)
{
	static const char s[] = "mem_arena keeps cold memory compressed in the kernel. ";
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = s[i % (sizeof(s) - 1)];
}

/* Append whole files to p[*off..len); returns 0 once full. */
static int append_file(const char *path, unsigned char *p, size_t *off, size_t len,
		       int want_elf)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 1;
	if (want_elf && (read(fd, magic, 4) != 4 || memcmp(magic, "\177ELF", 4) ||
			 lseek(fd, 0, SEEK_SET))) {
		close(fd);
		return 1;
	}
	while (*off < len && (n = read(fd, p + *off, len - *off)) > 0)
		*off += n;
	close(fd);
	return *off < len;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Regular files of @dir (or @dir/X/@leaf when @leaf), sorted by name. */
static void append_dir(const char *dir, const char *leaf, unsigned char *p,
		       size_t *off, size_t len, int want_elf)
{
	struct dirent **ents;
	char path[4096];
	struct stat st;
	int i, n = scandir(dir, &ents, NULL, by_name);

	for (i = 0; i < n; i++) {
		if (*off < len && ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s%s%s", dir, ents[i]->d_name,
				 leaf ? "/" : "", leaf ? leaf : "");
			if (!stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0)
				append_file(path, p, off, len, want_elf);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

/* Repeat the first @have bytes to fill @len. */
static void repeat(unsigned char *p, size_t have, size_t len)
{
	size_t off = have;

	while (off < len) {
		size_t n = off < len - off ? off : len - off;

		memcpy(p + off, p, n);
		off += n;
	}
}

static int fill_files(const char *kind, unsigned char *p, size_t len,
		      char *err, size_t errlen)
{
	size_t off = 0;

	if (!strcmp(kind, "text")) {
		append_dir("/usr/share/common-licenses", NULL, p, &off, len, 0);
		append_dir("/usr/share/doc", "copyright", p, &off, len, 0);
	} else {
		append_dir("/usr/bin", NULL, p, &off, len, 1);
		append_dir("/usr/lib/x86_64-linux-gnu", NULL, p, &off, len, 1);
	}
	if (off < 4096) {
		snprintf(err, errlen, "dataset %s: no files found under /usr "
			 "(in tools/vm-run, pass --host-usr)", kind);
		return -1;
	}
	repeat(p, off, len);
	return 0;
}

int dataset_valid(const char *spec)
{
	static const char *names[] = { "repetitive", "text", "binary", "random",
				       "zero", "mixed" };
	size_t i;

	if (!strncmp(spec, "file:", 5))
		return spec[5] != 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(spec, names[i]))
			return 1;
	return 0;
}

int dataset_fill(const char *spec, void *buf, size_t len, uint64_t seed,
		 char *err, size_t errlen)
{
	unsigned char *p = buf;

	if (!dataset_valid(spec)) {
		snprintf(err, errlen, "unknown dataset '%s' (%s)", spec, DATASET_NAMES);
		return -1;
	}
	if (!strcmp(spec, "repetitive")) {
		fill_repetitive(p, len);
	} else if (!strcmp(spec, "random")) {
		fill_random(p, len, seed);
	} else if (!strcmp(spec, "zero")) {
		memset(p, 0, len);
	} else if (!strcmp(spec, "text") || !strcmp(spec, "binary")) {
		return fill_files(spec, p, len, err, errlen);
	} else if (!strcmp(spec, "mixed")) {
		/* Stripes of 20 x 64 KiB: 7 text, 7 binary, 3 random, 3 zero. */
		unsigned char *text = malloc(len), *bin = malloc(len);
		size_t off;

		if (!text || !bin) {
			free(text);
			free(bin);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (fill_files("text", text, len, err, errlen) ||
		    fill_files("binary", bin, len, err, errlen)) {
			free(text);
			free(bin);
			return -1;
		}
		for (off = 0; off < len; off += STRIPE) {
			size_t n = len - off < STRIPE ? len - off : STRIPE;
			unsigned int k = (off / STRIPE) % 20;

			if (k < 7)
				memcpy(p + off, text + off, n);
			else if (k < 14)
				memcpy(p + off, bin + off, n);
			else if (k < 17)
				fill_random(p + off, n, seed + off);
			else
				memset(p + off, 0, n);
		}
		free(text);
		free(bin);
	} else {
		size_t off = 0;

		if (append_file(spec + 5, p, &off, len, 0) && !off) {
			snprintf(err, errlen, "dataset %s: cannot read it (%s)", spec,
				 strerror(errno ? errno : EIO));
			return -1;
		}
		repeat(p, off, len);
	}
	return 0;
}
