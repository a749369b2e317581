/*
 * vmrun: run the microVM monitor (lensvmm/vm/) outside the daemon,
 * for tests and benchmarks.
 *
 *	vmrun [-E] [-I uartin] [-c ncpus] [-d vda] [-w vdb] [-m MiB] [-n tap [-N cidr]]
 *	    [-o log] [-S [-K role]] [-U uid [-R root]]
 *	    (-T testguest.bin [-t case] | -k kernel [-i initrd] [-a cmdline])
 *
 *	-E	bridge console port 1 ("lens.control") to an echo thread
 *	-I	uart input from this file
 *	-l secs	stop the VM after secs seconds (and without -S print where
 *		each vCPU was)
 *	-d/-w	read-only (vda) and writable (vdb) disks
 *	-n	attach to the tap device of that name (IFF_VNET_HDR)
 *	-N	and bring it up with ADDR/PREFIX on the host side
 *	-o	console log (uart and hvc0); default standard output
 *	-S	seccomp filters on the process and every thread
 *	-K role	with -S: the thread of that role (process, vcpu, io)
 *		makes a forbidden call (ptrace) once its filter is on
 *	-U uid	once the VM is built: chroot into an empty directory
 *		(-R dir, default /var/lib/lens/empty) and become uid
 *
 * Prints "vmrun: stopped: REASON (detail)" and counters on stderr.
 * Exit status: 0 when the guest reset the machine, 2 on shutdown or
 * halt, 1 on an error.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"
#include "seccomp_filter.h"
#include "../../lensvmm/vm/vm.h"

static struct {
	struct vm	*vm;
	long long	 secs;
} timer_arg;

static void *
timer_main(void *arg)
{
	struct vm	*vm = ((typeof(timer_arg) *)arg)->vm;

	sleep(((typeof(timer_arg) *)arg)->secs);
	vm_request_stop(vm, VM_STOP_REQUEST, "time limit reached");
	return (NULL);
}

static void *
echo_main(void *arg)
{
	int	 fd = *(int *)arg;
	char	 buf[4096];
	ssize_t	 n, w, off;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += w)
			if ((w = write(fd, buf + off, n - off)) <= 0)
				return (NULL);
	return (NULL);
}

/* Bring the tap up with addr/prefix on it (the host side). */
static void
tap_config(const char *name, const char *cidr)
{
	struct ifreq		 ifr;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ifr.ifr_addr;
	char			 buf[64], *slash;
	const char		*errstr;
	int			 s, prefix;

	if (strlcpy(buf, cidr, sizeof(buf)) >= sizeof(buf) ||
	    (slash = strchr(buf, '/')) == NULL)
		errx(1, "-N %s: want ADDR/PREFIX", cidr);
	*slash++ = '\0';
	prefix = strtonum(slash, 1, 32, &errstr);
	if (errstr != NULL)
		errx(1, "-N %s: prefix %s", cidr, errstr);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, sizeof(ifr.ifr_name) - 1);
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
		errx(1, "-N %s: bad address", cidr);
	if (ioctl(s, SIOCSIFADDR, &ifr) == -1)
		err(1, "SIOCSIFADDR %s", name);
	sin->sin_addr.s_addr = htonl(0xffffffffU << (32 - prefix));
	if (ioctl(s, SIOCSIFNETMASK, &ifr) == -1)
		err(1, "SIOCSIFNETMASK %s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		err(1, "SIOCGIFFLAGS %s", name);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		err(1, "SIOCSIFFLAGS %s", name);
	close(s);
}

static int
tap_open(const char *name)
{
	struct ifreq	 ifr;
	int		 fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK)) == -1)
		err(1, "/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (strlen(name) >= sizeof(ifr.ifr_name))
		errx(1, "tap name too long: %s", name);
	strncpy(ifr.ifr_name, name, sizeof(ifr.ifr_name) - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1)
		err(1, "TUNSETIFF %s", name);
	return (fd);
}

static int
disk_open(const char *path, int ro)
{
	int	 fd;

	if ((fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC)) == -1)
		err(1, "%s", path);
	return (fd);
}

/*
 * With seccomp: run the VM in a child and report a trapped syscall by
 * name the way lensvmm's parent does (the child records it in a shared
 * page before it dies of SIGSYS).
 */
static void
sandbox_child(void)
{
	volatile int32_t	*slot;
	pid_t			 pid;
	int			 st;

	slot = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slot == MAP_FAILED)
		err(1, "mmap");
	*slot = -1;
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		sandbox_report_to(slot);
		return;
	}
	closefrom(3);		/* the child's disks, tap, console bridge */
	if (waitpid(pid, &st, 0) == -1)
		err(1, "waitpid");
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "vmrun: VM process killed by signal %d%s%s\n",
		    WTERMSIG(st), *slot != -1 ? ", syscall " : "",
		    *slot != -1 ? sandbox_syscall_name(*slot) : "");
		exit(1);
	}
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: vmrun [-E] [-I uartin] [-c ncpus] [-d vda] [-w vdb] "
	    "[-m MiB] [-n tap [-N addr/prefix]] [-o log]\n"
	    "\t[-S [-K role]] [-U uid [-R root]]\n"
	    "\t(-T testguest [-t case] | -k kernel [-i initrd] "
	    "[-a cmdline])\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct vm_config conf;
	struct vm	*vm;
	struct timeval	 t0, t1;
	pthread_t	 echo;
	int		 ch, echofd = -1, sv[2], stop;
	const char	*errstr, *tapname = NULL, *tapaddr = NULL;
	const char	*root = LENS_EMPTYDIR;
	struct privsep_user pu;
	long long	 uid = 0, limit = 0;
	pthread_t	 timer;
	struct kvm_regs	 regs;
	unsigned int	 i;
	double		 secs;
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	memset(&conf, 0, sizeof(conf));
	conf.memsize = 128ULL << 20;
	conf.ncpus = 1;
	conf.console_fd = STDOUT_FILENO;
	conf.uart_in_fd = -1;
	conf.disk_fd[0] = conf.disk_fd[1] = -1;
	conf.disk_ro[0] = 1;
	conf.tap_fd = -1;
	conf.control_fd = -1;
	conf.rng = 1;
	memcpy(conf.mac, mac, 6);
	log_init(1, 0);
	while ((ch = getopt(argc, argv,
	    "a:c:d:EI:i:K:k:l:m:N:n:o:R:ST:t:U:w:")) != -1) {
		switch (ch) {
		case 'a':
			conf.cmdline = optarg;
			break;
		case 'c':
			conf.ncpus = strtonum(optarg, 1, VM_MAXCPUS, &errstr);
			if (errstr != NULL)
				errx(1, "-c %s: %s", optarg, errstr);
			break;
		case 'd':
			conf.disk_fd[0] = disk_open(optarg, 1);
			break;
		case 'E':
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			    sv) == -1)
				err(1, "socketpair");
			conf.control_fd = sv[0];
			echofd = sv[1];
			break;
		case 'I':
			conf.uart_in_fd = open(optarg, O_RDONLY | O_CLOEXEC |
			    O_NONBLOCK);
			if (conf.uart_in_fd == -1)
				err(1, "%s", optarg);
			break;
		case 'i':
			conf.initrd = optarg;
			break;
		case 'K':
			if (strcmp(optarg, "process") == 0)
				conf.trap_role = 1 + VM_SB_PROCESS;
			else if (strcmp(optarg, "vcpu") == 0)
				conf.trap_role = 1 + VM_SB_VCPU;
			else if (strcmp(optarg, "io") == 0)
				conf.trap_role = 1 + VM_SB_IO;
			else
				errx(1, "-K %s: want process, vcpu or io",
				    optarg);
			break;
		case 'k':
			conf.kernel = optarg;
			break;
		case 'l':
			limit = strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(1, "-l %s: %s", optarg, errstr);
			break;
		case 'm':
			conf.memsize = strtonum(optarg, 16, 65536, &errstr);
			if (errstr != NULL)
				errx(1, "-m %s: %s", optarg, errstr);
			conf.memsize <<= 20;
			break;
		case 'n':
			tapname = optarg;
			break;
		case 'N':
			tapaddr = optarg;
			break;
		case 'o':
			conf.console_fd = open(optarg, O_WRONLY | O_CREAT |
			    O_APPEND | O_CLOEXEC, 0644);
			if (conf.console_fd == -1)
				err(1, "%s", optarg);
			break;
		case 'R':
			root = optarg;
			break;
		case 'S':
			conf.sandbox = 1;
			break;
		case 'T':
			conf.testguest = optarg;
			break;
		case 'U':
			uid = strtonum(optarg, 1, UINT32_MAX - 1, &errstr);
			if (errstr != NULL)
				errx(1, "-U %s: %s", optarg, errstr);
			break;
		case 't':
			conf.testcase = optarg;
			break;
		case 'w':
			conf.disk_fd[1] = disk_open(optarg, 0);
			conf.disk_ro[1] = 0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (conf.testguest == NULL) == (conf.kernel == NULL))
		usage();
	if (tapname != NULL) {
		conf.tap_fd = tap_open(tapname);
		if (tapaddr != NULL)
			tap_config(tapname, tapaddr);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (conf.sandbox)
		sandbox_child();
	if ((vm = vm_create(&conf)) == NULL)
		errx(1, "could not create the VM");
	if (echofd != -1 &&
	    pthread_create(&echo, NULL, echo_main, &echofd) != 0)
		errx(1, "echo thread");
	if (uid != 0) {
		memset(&pu, 0, sizeof(pu));
		snprintf(pu.name, sizeof(pu.name), "%lld", uid);
		pu.uid = uid;
		pu.gid = uid;
		privsep_emptydir(root);
		privsep_drop(root, &pu, NULL, 0);
		fprintf(stderr, "vmrun: uid %d gid %d, chroot %s, "
		    "no_new_privs %d\n", (int)getuid(), (int)getgid(), root,
		    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	}
	if (limit > 0) {
		timer_arg.vm = vm;
		timer_arg.secs = limit;
		if (pthread_create(&timer, NULL, timer_main, &timer_arg) != 0)
			errx(1, "timer thread");
		pthread_detach(timer);
	}
	gettimeofday(&t0, NULL);
	stop = vm_run(vm);
	gettimeofday(&t1, NULL);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6;
	fprintf(stderr, "vmrun: stopped: %s (%s)\n", vm_stop_name(stop),
	    vm->stopwhy);
	fprintf(stderr, "vmrun: %.3f s, %llu mmio exits, %llu pio exits\n",
	    secs, (unsigned long long)vm->mmio_exits,
	    (unsigned long long)vm->pio_exits);
	/* where the vCPUs were (not under -S: the filter has no GET_REGS) */
	for (i = 0; limit > 0 && stop == VM_STOP_REQUEST && !conf.sandbox &&
	    i < vm->ncpus; i++)
		if (ioctl(vm->cpu[i].fd, KVM_GET_REGS, &regs) == 0)
			fprintf(stderr, "vmrun: cpu %u: rip %#llx rsp %#llx "
			    "rflags %#llx\n", i, (unsigned long long)regs.rip,
			    (unsigned long long)regs.rsp,
			    (unsigned long long)regs.rflags);
	vm_destroy(vm);
	if (echofd != -1) {
		close(conf.control_fd);
		pthread_join(echo, NULL);
		close(echofd);
	}
	if (stop == VM_STOP_RESET)
		return (0);
	return (stop == VM_STOP_ERROR ? 1 : 2);
}
