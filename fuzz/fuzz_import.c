/*
 * libFuzzer target: the import parsers.  Each input goes through the CSV
 * parser on its own, then through a dry-run import as CSV and as JSON into
 * a registry holding one organization, so every row reaches the same
 * validation a real import applies.  A dry run rolls back, so the registry
 * is the same for every input and a crash reproduces from one file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Opening and migrating per input would drown the parsers in SQLite setup. */
static struct p25_registry *shared_registry(const struct p25_actor *who)
{
	static struct p25_registry *reg;
	char err[256];

	if (reg)
		return reg;
	if (p25_registry_open(":memory:", &reg, err, sizeof err) != 0 ||
	    p25_org_add(reg, who, "k12", "Schools", P25_MODE_OUTBOUND, P25_ACTION_REJECT) != 0 ||
	    p25_prefix_add(reg, who, "k12", "192.0.2.0/24", "", 0) != 0 ||
	    p25_prefix_add(reg, who, "k12", "2001:db8:1::/48", "", 0) != 0) {
		fprintf(stderr, "fuzz_import: setup failed: %s\n", err);
		abort();
	}
	return reg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct p25_actor who = {.name = "fuzz", .now = 1795428000};
	struct p25_registry *reg = shared_registry(&who);
	struct p25_import_options opt = {.name = "fuzz", .org = "k12", .dry_run = true};
	struct p25_import_result res;
	struct p25_csv csv;
	char err[256];
	json_t *before, *after;

	if (p25_csv_parse((const char *)data, size, &csv, err, sizeof err) == 0) {
		for (size_t i = 0; i < csv.nrecords; i++) {
			/* Records come in order of the lines they start on. */
			if (i && csv.records[i].line <= csv.records[i - 1].line)
				abort();
			for (size_t f = 0; f < csv.records[i].nfields; f++)
				if (strlen(csv.records[i].fields[f]) > size)
					abort();
		}
		p25_csv_free(&csv);
	}

	if (p25_registry_export(reg, &before) != 0)
		abort();
	opt.format = P25_IMPORT_CSV;
	p25_import_buffer(reg, &who, (const char *)data, size, &opt, &res);
	opt.format = P25_IMPORT_JSON;
	opt.org = NULL;
	p25_import_buffer(reg, &who, (const char *)data, size, &opt, &res);
	/* Dry runs and failures alike must leave the registry as it was. */
	if (p25_registry_export(reg, &after) != 0 || !json_equal(before, after))
		abort();
	json_decref(before);
	json_decref(after);
	return 0;
}
