/* bench_pcap: the floor for the simulator's speed — libpcap alone reading every record of a
 * capture. Prints records per wall second. A benchmark, not a test. */
#define _DEFAULT_SOURCE /* libpcap's headers use u_int and u_char */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_pcap FILE\n");
        return 1;
    }
    char err[PCAP_ERRBUF_SIZE];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FILE *fp = fopen(argv[1], "rb"); /* the same 1 MiB stdio buffer as sppsim's reader */
    if (!fp) {
        perror(argv[1]);
        return 1;
    }
    setvbuf(fp, NULL, _IOFBF, 1u << 20);
    pcap_t *p = pcap_fopen_offline(fp, err);
    if (!p) {
        fprintf(stderr, "bench_pcap: %s: %s\n", argv[1], err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long n = 0, bytes = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        bytes += h->caplen;
        sum += d[0];
    }
    pcap_close(p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("libpcap read: %llu records (%llu bytes) in %.3f s = %.2f M records/s (check %llu)\n", n,
           bytes, s, (double)n / s / 1e6, sum & 0xff);
    return 0;
}
