/* port25 serve: the HTTP API, configured from port25.conf's serve-* keys and options. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../serve/serve.h"
#include "cli.h"
#include "util/conf.h"

static const char serve_usage[] =
    "usage: port25 serve [--listen ADDRESS:PORT] [--threads N] [--tls-cert PEM --tls-key PEM]\n"
    "                    [--max-body SIZE] [--max-connections N] [--access-log]\n"
    "                    [--trusted-proxies LIST --proxy-user-header NAME] [--config FILE]\n"
    "\n"
    "The HTTP API (/api/v1, JSON; its OpenAPI document at /api/v1/openapi.json) for\n"
    "operators, members and auditors: accounts from port25 user, API tokens from port25\n"
    "token or the API.  Every change is the registry's, audited under the user's name;\n"
    "the server never touches the kernel's rules (enforce sync --wait follows them).\n"
    "\n"
    "Settings come from the serve-* keys of the configuration file (/etc/port25/port25.conf\n"
    "or $PORT25_CONFIG; see dist/port25.conf.example); an option overrides its key:\n"
    "  --listen            serve-listen (127.0.0.1:8025; [::]:8025 for every address;\n"
    "                      port 0 takes any free port, logged at start)\n"
    "  --threads           serve-threads (0: one per CPU)\n"
    "  --tls-cert/--tls-key serve-tls-cert, serve-tls-key: HTTPS natively (else behind a proxy)\n"
    "  --max-body          serve-max-body (64k)\n"
    "  --max-connections   serve-max-connections (1024)\n"
    "  --access-log        serve-access-log: one line a request on standard error\n"
    "  --trusted-proxies   serve-trusted-proxies: whose X-Forwarded-For and user header count\n"
    "  --proxy-user-header serve-proxy-user-header (e.g. X-Remote-User)\n"
    "Runs until SIGTERM or SIGINT (exit 0).\n";

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"threads", required_argument, NULL, 't'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"max-body", required_argument, NULL, 'b'},
	    {"max-connections", required_argument, NULL, 'm'},
	    {"access-log", no_argument, NULL, 'a'},
	    {"trusted-proxies", required_argument, NULL, 'p'},
	    {"proxy-user-header", required_argument, NULL, 'u'},
	    {"config", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct {
		int opt;
		const char *key;
	} keys[] = {{'l', "serve-listen"},          {'t', "serve-threads"},
	            {'c', "serve-tls-cert"},        {'k', "serve-tls-key"},
	            {'b', "serve-max-body"},        {'m', "serve-max-connections"},
	            {'p', "serve-trusted-proxies"}, {'u', "serve-proxy-user-header"}};
	struct p25_serve_config *cfg = calloc(1, sizeof *cfg);
	const char *conf = p25_conf_path();
	struct {
		int opt;
		const char *val;
	} given[32];
	size_t ngiven = 0;
	char err[700];
	int c, rc;

	if (!cfg)
		return cli_fail(EXIT_SYSTEM, "out of memory");
	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
		if (c == 'h') {
			fputs(serve_usage, stdout);
			free(cfg);
			return EXIT_OK;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "port25: serve: unknown option or missing value: %s\n%s",
			        argv[optind - 1], serve_usage);
			free(cfg);
			return EXIT_USAGE;
		}
		if (c == 'C') {
			conf = optarg;
			continue;
		}
		if (ngiven < sizeof given / sizeof *given) {
			given[ngiven].opt = c;
			given[ngiven++].val = optarg;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "port25: serve: unexpected argument '%s'\n%s", argv[optind],
		        serve_usage);
		free(cfg);
		return EXIT_USAGE;
	}
	/* Defaults, then the file, then the options. */
	p25_serve_config_default(cfg);
	if (p25_serve_config_load(cfg, conf, err, sizeof err) < 0) {
		free(cfg);
		return cli_fail(EXIT_USAGE, "serve: %s", err);
	}
	for (size_t i = 0; i < ngiven; i++) {
		const char *key = NULL;
		if (given[i].opt == 'a') {
			cfg->access_log = true;
			continue;
		}
		for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
			if (keys[k].opt == given[i].opt)
				key = keys[k].key;
		if (key && p25_serve_config_set(cfg, key, given[i].val, err, sizeof err) < 0) {
			free(cfg);
			return cli_fail(EXIT_USAGE, "serve: --%s: %s", key + 6, err);
		}
	}
	if (cfg->proxy_header[0] && !cfg->nproxies) {
		free(cfg);
		return cli_fail(EXIT_USAGE, "serve: serve-proxy-user-header needs "
		                            "serve-trusted-proxies: who may name the user");
	}
	/* The registry must exist (port25 init makes it); opening it migrates it. */
	if ((rc = cli_open_registry(cli)) != EXIT_OK) {
		free(cfg);
		return rc;
	}
	rc = p25_serve_run(cfg, cli->db_path, stderr, err, sizeof err) < 0
	         ? cli_fail(EXIT_SYSTEM, "serve: %s", err)
	         : EXIT_OK;
	free(cfg);
	return rc;
}
