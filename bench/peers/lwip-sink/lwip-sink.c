/*
 * lwip-sink: the network benchmark's sink on lwIP 2.1 as Debian ships it (liblwip-dev), for comparison
 * with Unisharp's own stack. It opens a TAP interface, takes an IPv4
 * address, listens on a TCP port and discards what each client sends, logging as examples/network does:
 *
 *   sink listening on 198.18.0.2:8080
 *   198.18.0.1:40000: read 8388608 bytes in 123 ms (68.2 MB/s)
 *
 * Usage: lwip-sink TAPNAME IPV4/PREFIX [PORT]
 * Uses lwIP's raw TCP API on lwIP's own thread (tcpip_init). Frames come from a small TAP netif of our own
 * rather than the library's tapif: Debian's tapif copies each received frame into a PBUF_POOL chain whose
 * first buffer is 616 bytes and overruns it on full-size frames (valgrind: invalid writes in pbuf_take,
 * then glibc's malloc assertion), so it cannot carry a bulk transfer. Ours reads a frame into a PBUF_RAM
 * pbuf of exactly its size and hands it to tcpip_input, as tapif means to. Ends on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "netif/etharp.h"
#include "netif/ethernet.h"

struct client {
    uint64_t bytes;
    struct timespec started;
    char remote[32];
};

static struct netif s_netif;
static ip4_addr_t s_address, s_netmask, s_gateway;
static uint16_t s_port = 8080;
static volatile sig_atomic_t s_stop;
static int s_tap = -1;
static char s_tap_name[IFNAMSIZ];

/* Opens the TAP device (IFF_TAP | IFF_NO_PI: plain Ethernet frames) and sets its link up. */
static int tap_open(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        perror("lwip-sink: error: open /dev/net/tun");
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        perror("lwip-sink: error: TUNSETIFF");
        close(fd);
        return -1;
    }
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
            perror("lwip-sink: warning: cannot set the TAP link up");
        }
    }
    if (sock >= 0) {
        close(sock);
    }
    return fd;
}

/* Runs on lwIP's thread (core lock held): one frame out, copied flat from the pbuf chain. */
static err_t tap_output(struct netif *netif, struct pbuf *p)
{
    (void)netif;
    static unsigned char frame[2048];
    if (p->tot_len > sizeof frame) {
        return ERR_BUF;
    }
    u16_t len = pbuf_copy_partial(p, frame, p->tot_len, 0);
    if (write(s_tap, frame, len) < 0) {
        return ERR_IF;
    }
    return ERR_OK;
}

/* Reads frames from the TAP device and queues each for lwIP's thread. */
static void *tap_reader(void *arg)
{
    struct netif *netif = arg;
    unsigned char frame[2048];
    for (;;) {
        ssize_t n = read(s_tap, frame, sizeof frame);
        if (n <= 0) {
            if (n < 0) {
                perror("lwip-sink: TAP read");
            }
            return NULL;
        }
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
        if (p == NULL) {
            continue;
        }
        memcpy(p->payload, frame, (size_t)n);
        if (netif->input(p, netif) != ERR_OK) {
            pbuf_free(p);
        }
    }
}

static err_t tap_netif_init(struct netif *netif)
{
    netif->name[0] = 't';
    netif->name[1] = 'p';
    netif->output = etharp_output;
    netif->linkoutput = tap_output;
    netif->mtu = 1500;
    netif->hwaddr_len = 6;
    static const unsigned char mac[6] = { 0x02, 0x12, 0x34, 0x56, 0x78, 0xab };
    memcpy(netif->hwaddr, mac, sizeof mac);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    return ERR_OK;
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static void report(struct client *c)
{
    double ms = elapsed_ms(&c->started);
    double mbps = ms > 0 ? (double)c->bytes / (ms * 1e3) : 0;
    fprintf(stderr, "[lwip-sink] %s: read %llu bytes in %.0f ms (%.1f MB/s)\n", c->remote, (unsigned long long)c->bytes, ms, mbps);
}

static err_t on_receive(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct client *c = arg;
    if (p == NULL || err != ERR_OK) {
        /* The client closed its side: everything it sent has been counted. */
        if (p != NULL) {
            pbuf_free(p);
        }
        report(c);
        free(c);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_err(pcb, NULL);
        if (tcp_close(pcb) != ERR_OK) {
            tcp_abort(pcb);
            return ERR_ABRT;
        }
        return ERR_OK;
    }
    c->bytes += p->tot_len;
    /* Discarding: the whole segment's bytes go straight back into the receive window. */
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static void on_error(void *arg, err_t err)
{
    struct client *c = arg;
    if (c != NULL) {
        fprintf(stderr, "[lwip-sink] %s: connection error %d\n", c->remote, (int)err);
        report(c);
        free(c);
    }
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || pcb == NULL) {
        return ERR_VAL;
    }
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    snprintf(c->remote, sizeof c->remote, "%s:%u", ip4addr_ntoa(ip_2_ip4(&pcb->remote_ip)), pcb->remote_port);
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    tcp_arg(pcb, c);
    tcp_recv(pcb, on_receive);
    tcp_err(pcb, on_error);
    return ERR_OK;
}

/* Runs on lwIP's thread, with the core lock held. */
static void on_stack_ready(void *arg)
{
    sys_sem_t *ready = arg;
    if (netif_add(&s_netif, &s_address, &s_netmask, &s_gateway, NULL, tap_netif_init, tcpip_input) == NULL) {
        fprintf(stderr, "[lwip-sink] error: cannot add the TAP interface\n");
        exit(1);
    }
    netif_set_default(&s_netif);
    netif_set_up(&s_netif);
    netif_set_link_up(&s_netif);

    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL || tcp_bind(pcb, IP4_ADDR_ANY, s_port) != ERR_OK) {
        fprintf(stderr, "[lwip-sink] error: cannot bind port %u\n", s_port);
        exit(1);
    }
    struct tcp_pcb *listener = tcp_listen_with_backlog(pcb, 16);
    if (listener == NULL) {
        fprintf(stderr, "[lwip-sink] error: cannot listen\n");
        exit(1);
    }
    tcp_accept(listener, on_accept);
    pthread_t reader;
    if (pthread_create(&reader, NULL, tap_reader, &s_netif) != 0) {
        fprintf(stderr, "[lwip-sink] error: cannot start the TAP reader\n");
        exit(1);
    }
    pthread_detach(reader);
    fprintf(stderr, "[lwip-sink] sink listening on %s:%u\n", ip4addr_ntoa(&s_address), s_port);
    sys_sem_signal(ready);
}

static void on_signal(int signal)
{
    (void)signal;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: lwip-sink TAPNAME IPV4/PREFIX [PORT]\n");
        return 2;
    }
    char address[32];
    snprintf(address, sizeof address, "%s", argv[2]);
    char *slash = strchr(address, '/');
    int prefix = slash != NULL ? atoi(slash + 1) : 24;
    if (slash != NULL) {
        *slash = '\0';
    }
    if (!ip4addr_aton(address, &s_address) || prefix < 1 || prefix > 30) {
        fprintf(stderr, "lwip-sink: error: invalid address '%s': expected A.B.C.D/PREFIX\n", argv[2]);
        return 2;
    }
    ip4_addr_set_u32(&s_netmask, lwip_htonl(0xffffffffu << (32 - prefix)));
    ip4_addr_set_zero(&s_gateway);
    if (argc == 4) {
        int port = atoi(argv[3]);
        if (port < 1 || port > 65535) {
            fprintf(stderr, "lwip-sink: error: invalid port '%s'\n", argv[3]);
            return 2;
        }
        s_port = (uint16_t)port;
    }
    snprintf(s_tap_name, sizeof s_tap_name, "%s", argv[1]);
    s_tap = tap_open(s_tap_name);
    if (s_tap < 0) {
        return 1;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    sys_sem_t ready;
    sys_sem_new(&ready, 0);
    tcpip_init(on_stack_ready, &ready);
    sys_sem_wait(&ready);
    while (!s_stop) {
        pause();
    }
    fprintf(stderr, "[lwip-sink] stopping\n");
    return 0;
}
