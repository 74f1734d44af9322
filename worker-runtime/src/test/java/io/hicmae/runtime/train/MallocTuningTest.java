package io.hicmae.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MallocTuningTest {

    @Test
    void mergeAddsEachSettingTheUserDidNotSetAndKeepsTheUsersOwn() {
        assertEquals(MallocTuning.TUNABLES, MallocTuning.merge(null));
        assertEquals(MallocTuning.TUNABLES, MallocTuning.merge(""));
        assertEquals("glibc.malloc.trim_threshold=1:glibc.cpu.hwcaps=-AVX512F:glibc.malloc.mmap_threshold=33554432"
                + ":glibc.malloc.hugetlb=1",
                MallocTuning.merge("glibc.malloc.trim_threshold=1:glibc.cpu.hwcaps=-AVX512F"));
        assertEquals("glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=1:glibc.malloc.hugetlb=0",
                MallocTuning.merge("glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=1"
                        + ":glibc.malloc.hugetlb=0"));
    }

    @Test
    void activeOnlyWhenEverySettingIsSet() {
        assertTrue(MallocTuning.active(MallocTuning.TUNABLES));
        assertTrue(MallocTuning.active(MallocTuning.merge("glibc.cpu.hwcaps=-AVX512F")));
        assertFalse(MallocTuning.active(null));
        assertFalse(MallocTuning.active("glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1"));
        assertTrue(MallocTuning.hint().contains("GLIBC_TUNABLES=" + MallocTuning.TUNABLES));
    }
}
