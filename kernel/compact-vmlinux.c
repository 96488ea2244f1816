// compact-vmlinux: rewrites an x86_64 (or arm64) vmlinux as the smallest ELF file that loads the same memory image.
//
//   compact-vmlinux IN OUT
//
// The kernel's linker script aligns parts of the kernel to 2 MiB (the entry text, the end of the read-only
// data) and links with -z max-page-size=0x200000, so the vmlinux file holds megabytes of zeros that PVH loaders
// (QEMU -M microvm, Firecracker) copy into the guest one by one (in the text, the padding is int3, 0xcc). The
// output keeps the ELF header, the entry point and the PT_NOTE segments (the PVH entry note), and splits each
// PT_LOAD segment at runs of padding (at least MIN_HOLE bytes of zeros, or of int3 in code sections and between
// sections: never in data such as .rodata, which shares the executable segment): each
// part is a PT_LOAD segment whose file bytes stop where the padding begins and whose memory size reaches the next
// part, so the loader fills the gap with zeros itself (ELF loaders zero the p_filesz..p_memsz tail). Zeros in
// place of int3 padding are never executed: the padding lies between sections and functions, and the kernel
// frees the text/rodata gap as memory once it has booted. The parts are packed back to back (p_align 1: these
// loaders copy segments, they do not map them). Section headers and the symbol table are left out (keep the
// input for them).
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A hole is at least this many bytes of padding: smaller runs stay in the file (a program header costs 56 bytes),
// which keeps the segment count near a hundred.
#define MIN_HOLE 512u
#define MAX_PARTS 1024

struct part {
    uint64_t vaddr, paddr, filesz, memsz, flags;
    const unsigned char *data;
    uint64_t offset; // in the output file
};

static void die(const char *message) {
    fprintf(stderr, "compact-vmlinux: %s\n", message);
    exit(1);
}

// Padding: zeros, or int3 where the mask allows it (the linker's fill between functions and sections).
static int padding(unsigned char byte, const unsigned char *int3_allowed, uint64_t position) {
    return byte == 0 || (byte == 0xcc && int3_allowed[position]);
}

// Where in a segment int3 counts as padding: in executable segments, everywhere but in the sections that are not
// code (.rodata and the like); in other segments nowhere.
static unsigned char *int3_mask(const unsigned char *file, uint64_t size, const Elf64_Ehdr *eh, const Elf64_Phdr *segment) {
    unsigned char *mask = malloc(segment->p_filesz + 1);
    if (mask == NULL) {
        die("out of memory");
    }
    memset(mask, (segment->p_flags & PF_X) != 0, segment->p_filesz + 1);
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
        return mask;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if ((sh[i].sh_flags & SHF_ALLOC) == 0 || (sh[i].sh_flags & SHF_EXECINSTR) != 0) {
            continue;
        }
        uint64_t from = sh[i].sh_addr, to = sh[i].sh_addr + sh[i].sh_size;
        uint64_t low = segment->p_vaddr, high = segment->p_vaddr + segment->p_filesz;
        if (from < low) {
            from = low;
        }
        if (to > high) {
            to = high;
        }
        if (from < to) {
            memset(mask + (from - low), 0, to - from);
        }
    }
    return mask;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        die("usage: compact-vmlinux IN OUT");
    }
    FILE *in = fopen(argv[1], "rb");
    if (in == NULL) {
        die(strerror(errno));
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    unsigned char *file = malloc((size_t)size);
    if (file == NULL || fread(file, 1, (size_t)size, in) != (size_t)size) {
        die("cannot read the input");
    }
    fclose(in);

    Elf64_Ehdr eh;
    if ((size_t)size < sizeof eh) {
        die("not an ELF file");
    }
    memcpy(&eh, file, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        die("not a 64-bit little-endian ELF file");
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > (uint64_t)size) {
        die("bad program headers");
    }
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh.e_phoff);

    struct part parts[MAX_PARTS];
    int count = 0;
    Elf64_Phdr notes[8];
    int note_count = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_NOTE) {
            if (note_count == 8) {
                die("too many PT_NOTE segments");
            }
            notes[note_count++] = ph[i];
            continue;
        }
        if (ph[i].p_type != PT_LOAD) {
            continue; // PT_GNU_STACK and the like mean nothing to a kernel loader
        }
        if (ph[i].p_offset + ph[i].p_filesz > (uint64_t)size || ph[i].p_filesz > ph[i].p_memsz) {
            die("a PT_LOAD segment lies outside the file");
        }
        const unsigned char *data = file + ph[i].p_offset;
        uint64_t filesz = ph[i].p_filesz;
        // Walk the segment byte by byte; a part ends before a run of at least MIN_HOLE bytes of one padding
        // byte, and the next begins after it.
        unsigned char *int3_allowed = int3_mask(file, (uint64_t)size, &eh, &ph[i]);
        uint64_t start = 0, position = 0, zeros_from = UINT64_MAX;
        for (; position < filesz; position++) {
            unsigned char byte = data[position];
            if (padding(byte, int3_allowed, position) && (zeros_from == UINT64_MAX || data[zeros_from] == byte)) {
                if (zeros_from == UINT64_MAX) {
                    zeros_from = position;
                }
                continue;
            }
            if (zeros_from != UINT64_MAX && position - zeros_from >= MIN_HOLE && zeros_from > start) {
                if (count == MAX_PARTS) {
                    die("too many parts");
                }
                parts[count++] = (struct part){ph[i].p_vaddr + start, ph[i].p_paddr + start, zeros_from - start,
                                               position - start, ph[i].p_flags, data + start, 0};
                start = position;
            }
            // A different padding byte starts a run of its own.
            zeros_from = padding(byte, int3_allowed, position) ? position : UINT64_MAX;
        }
        free(int3_allowed);
        // The last part: trailing padding need not be in the file either.
        uint64_t end = zeros_from != UINT64_MAX && filesz - zeros_from >= MIN_HOLE ? zeros_from : filesz;
        if (end < start) {
            end = start;
        }
        if (count == MAX_PARTS) {
            die("too many parts");
        }
        parts[count++] = (struct part){ph[i].p_vaddr + start, ph[i].p_paddr + start, end - start,
                                       ph[i].p_memsz - start, ph[i].p_flags, data + start, 0};
    }
    if (count == 0) {
        die("no PT_LOAD segment");
    }

    // Layout: header, program headers, then the parts back to back.
    int phnum = count + note_count;
    uint64_t offset = sizeof(Elf64_Ehdr) + (uint64_t)phnum * sizeof(Elf64_Phdr);
    for (int i = 0; i < count; i++) {
        parts[i].offset = offset;
        offset += parts[i].filesz;
    }
    uint64_t total = offset;

    Elf64_Phdr out_ph[MAX_PARTS + 8];
    for (int i = 0; i < count; i++) {
        out_ph[i] = (Elf64_Phdr){PT_LOAD, (Elf64_Word)parts[i].flags, parts[i].offset, parts[i].vaddr, parts[i].paddr,
                                 parts[i].filesz, parts[i].memsz, 1};
    }
    // A note keeps its place in the memory image; its file offset now points into the part that holds it.
    for (int n = 0; n < note_count; n++) {
        Elf64_Phdr note = notes[n];
        int found = 0;
        for (int i = 0; i < count; i++) {
            if (note.p_vaddr >= parts[i].vaddr && note.p_vaddr + note.p_filesz <= parts[i].vaddr + parts[i].filesz) {
                const unsigned char *original = file + note.p_offset;
                if (memcmp(original, parts[i].data + (note.p_vaddr - parts[i].vaddr), note.p_filesz) != 0) {
                    die("a PT_NOTE segment's bytes differ from its place in the memory image");
                }
                note.p_offset = parts[i].offset + (note.p_vaddr - parts[i].vaddr);
                found = 1;
                break;
            }
        }
        if (!found) {
            die("a PT_NOTE segment lies outside the loaded parts");
        }
        out_ph[count + n] = note;
    }

    unsigned char *out = calloc(1, (size_t)total);
    if (out == NULL) {
        die("out of memory");
    }
    Elf64_Ehdr oh = eh;
    oh.e_phoff = sizeof(Elf64_Ehdr);
    oh.e_phnum = (Elf64_Half)phnum;
    oh.e_shoff = 0;
    oh.e_shnum = 0;
    oh.e_shstrndx = SHN_UNDEF;
    memcpy(out, &oh, sizeof oh);
    memcpy(out + oh.e_phoff, out_ph, (size_t)phnum * sizeof(Elf64_Phdr));
    for (int i = 0; i < count; i++) {
        memcpy(out + parts[i].offset, parts[i].data, parts[i].filesz);
    }
    FILE *o = fopen(argv[2], "wb");
    if (o == NULL || fwrite(out, 1, (size_t)total, o) != (size_t)total || fclose(o) != 0) {
        die("cannot write the output");
    }
    fprintf(stderr, "compact-vmlinux: %ld -> %llu bytes, %d PT_LOAD segments\n", size, (unsigned long long)total, count);
    return 0;
}
