/*
 * The agent protocol between the host (lensvmm's per-sandbox process)
 * and lens-init, PID 1 inside every sandbox.  Framing is common/imsg.h;
 * the channel is an inherited socketpair (jail) or a virtio console
 * port (microvm), so no message carries a file descriptor.
 *
 * hdr.peerid is the exec id chosen by the host (non-zero, unique for the
 * life of the sandbox); 0 for messages about the sandbox as a whole.
 * Every receiver checks exact sizes; variable parts are bounded.
 *
 *   init -> host  READY      once, when lens-init has set up the sandbox
 *   host -> init  EXEC       start a process (id = peerid)
 *   init -> host  STARTED    it runs, with its pid inside the sandbox
 *   init -> host  ERROR      it could not be started (errno, stage)
 *   host -> init  STDIN      bytes for its stdin (or the pty)
 *   host -> init  STDIN_EOF  close its stdin (with a pty: send ^D)
 *   init -> host  STDOUT     bytes from its stdout (or the pty)
 *   init -> host  STDERR     bytes from its stderr (never with a pty)
 *   host -> init  SIGNAL     deliver a signal to its process group
 *   host -> init  RESIZE     pty window size
 *   init -> host  EXIT       it ended; after its last STDOUT/STDERR
 *   host -> init  SHUTDOWN   SIGTERM everything, SIGKILL after grace,
 *                            then lens-init exits (the sandbox ends)
 *   host -> init  CA         the sandbox CA's certificate (one PEM block,
 *                            1..PEMCERT_MAX bytes, common/pemcert.h), at
 *                            most once, before the first EXEC: appended to
 *                            INIT_CA_BUNDLE, written to INIT_CA_FILE
 *
 * Output flow control: lens-init stops reading a process's pipes while
 * more than LENSINIT_MAXQUEUED bytes wait to be sent to the host.
 */
#ifndef LENS_LENSINIT_PROTO_H
#define LENS_LENSINIT_PROTO_H

#include <stdint.h>

#define LENSINIT_PROTO_VERSION	1
#define LENSINIT_MAXARGS	1024	/* argv + env entries */
#define LENSINIT_MAXQUEUED	(1024 * 1024)
#define LENSINIT_USER_SIZE	64
#define LENSINIT_CWD_SIZE	256

enum lensinit_imsg {
	IMSG_INIT_READY = 0x49000001,	/* struct init_ready */
	IMSG_INIT_EXEC,			/* struct init_exec + strings */
	IMSG_INIT_STARTED,		/* struct init_started */
	IMSG_INIT_ERROR,		/* struct init_error */
	IMSG_INIT_STDIN,		/* 1..IMSG_MAXPAYLOAD bytes */
	IMSG_INIT_STDIN_EOF,		/* empty */
	IMSG_INIT_STDOUT,		/* 1..IMSG_MAXPAYLOAD bytes */
	IMSG_INIT_STDERR,		/* 1..IMSG_MAXPAYLOAD bytes */
	IMSG_INIT_SIGNAL,		/* struct init_signal */
	IMSG_INIT_RESIZE,		/* struct init_winsize */
	IMSG_INIT_EXIT,			/* struct init_exit */
	IMSG_INIT_SHUTDOWN,		/* struct init_shutdown */
	IMSG_INIT_CA,			/* PEM bytes */
};

/* where lens-init puts the sandbox CA; the host names them in the
 * workload's environment (SSL_CERT_FILE and friends) */
#define INIT_CA_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"
#define INIT_CA_FILE	"/etc/lens/sandbox-ca.pem"

struct init_ready {
	uint32_t	version;
	uint32_t	pad;
};

#define INIT_EXEC_TTY	0x01	/* a pty, stdin/stdout/stderr on it */
#define INIT_EXEC_STDIN	0x02	/* keep stdin open (else /dev/null) */
#define INIT_EXEC_ROOT	0x04	/* run as root (uid 0 in the sandbox) */

struct init_exec {
	uint32_t	flags;
	uint16_t	rows, cols;		/* with INIT_EXEC_TTY */
	uint32_t	argc;			/* >= 1 */
	uint32_t	envc;
	/* user name or uid[:gid] looked up in the sandbox; "" = 1000 */
	char		user[LENSINIT_USER_SIZE];
	char		cwd[LENSINIT_CWD_SIZE];	/* "" = the user's home or / */
	/*
	 * followed by argc then envc NUL-terminated strings ("K=V"),
	 * exactly filling the rest of the payload
	 */
};

struct init_started {
	int32_t		pid;
	uint32_t	pad;
};

/* stage at which a start failed */
#define INIT_ERR_USER	1	/* unknown user */
#define INIT_ERR_CWD	2	/* chdir */
#define INIT_ERR_EXEC	3	/* execve: ENOENT -> 127, EACCES -> 126 */
#define INIT_ERR_SETUP	4	/* fork, pty, pipes, bad request */

struct init_error {
	int32_t		err;		/* errno */
	uint32_t	stage;
	char		msg[256];
};

struct init_signal {
	int32_t		sig;
	uint32_t	pad;
};

struct init_winsize {
	uint16_t	rows, cols;
	uint32_t	pad;
};

struct init_exit {
	int32_t		code;		/* exit status, or 128 + signal */
	int32_t		sig;		/* 0, or the signal that killed it */
	uint32_t	core;		/* it dumped core */
	uint32_t	pad;
};

struct init_shutdown {
	uint32_t	grace_ms;
	uint32_t	pad;
};

#endif
