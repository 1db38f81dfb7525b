/*
 * libmicrohttpd, bound at run time by port25 serve only: with GnuTLS it
 * brings ten shared libraries whose loading would cost every other port25
 * command some 8 ms a start.  Its header gives the types; these pointers
 * are the few entry points the server calls.
 */
#ifndef P25_SERVE_MHD_H
#define P25_SERVE_MHD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct p25_mhd {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
	                                   MHD_AcceptPolicyCallback apc, void *apc_cls,
	                                   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *daemon);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *daemon,
	                                                enum MHD_DaemonInfoType info_type, ...);
	const union MHD_ConnectionInfo *(*get_connection_info)(struct MHD_Connection *connection,
	                                                        enum MHD_ConnectionInfoType info_type,
	                                                        ...);
	int (*get_connection_values)(struct MHD_Connection *connection, enum MHD_ValueKind kind,
	                             MHD_KeyValueIterator iterator, void *iterator_cls);
	const char *(*lookup_connection_value)(struct MHD_Connection *connection,
	                                       enum MHD_ValueKind kind, const char *key);
	struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
	                                                    enum MHD_ResponseMemoryMode mode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *response, const char *header,
	                                       const char *content);
	enum MHD_Result (*queue_response)(struct MHD_Connection *connection, unsigned int status_code,
	                                  struct MHD_Response *response);
	void (*destroy_response)(struct MHD_Response *response);
	enum MHD_Result (*is_feature_supported)(enum MHD_FEATURE feature);
};

/* The process's binding, loaded on first use; NULL with err saying why. */
const struct p25_mhd *p25_mhd_load(char *err, size_t errlen);

#endif
