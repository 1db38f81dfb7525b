/* libFuzzer target: export packets forced to version 10 (see fuzz_flow.h). */
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow_version(data, size, 10);
}
