/*
 * The OpenAPI document (docs/openapi.json), compiled into the program: the
 * server describes itself without a file to install, and what it serves is
 * the file the tests validate.  The Makefile makes this object depend on it.
 */
#include "api/api.h"

extern const char p25_openapi_start[], p25_openapi_end[];

__asm__(".pushsection .rodata\n"
        ".balign 16\n"
        ".globl p25_openapi_start\n"
        ".hidden p25_openapi_start\n"
        "p25_openapi_start:\n"
        ".incbin \"docs/openapi.json\"\n"
        ".globl p25_openapi_end\n"
        ".hidden p25_openapi_end\n"
        "p25_openapi_end:\n"
        ".byte 0\n"
        ".popsection\n");

const char *p25_api_openapi(size_t *len)
{
	*len = (size_t)(p25_openapi_end - p25_openapi_start);
	return p25_openapi_start;
}
