package io.hicmae.runtime;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EngineSmokeTest {
    @Test
    void loadsGoldenNpz() throws Exception {
        assertEquals("PyTorch", Engine.getInstance().getEngineName());
        try (NDManager m = NDManager.newBaseManager();
             InputStream in = Files.newInputStream(Path.of(System.getProperty("hicmae.golden.dir"), "inputs.npz"))) {
            NDList l = NDList.decode(m, in);
            for (NDArray a : l) System.out.println(a.getName() + " " + a.getShape() + " " + a.getDataType());
            assertEquals(8, l.size());
        }
    }
}
