package io.hicmae.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hicmae.runtime.train.MallocTuning;
import java.time.Duration;
import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The configuration a training session starts Spark with. */
class SessionConfTest {

    private static BarrierStage.Settings settings() {
        return new BarrierStage.Settings("pretrain", 2, "cpu", null, 3, Duration.ZERO, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofSeconds(1), PortRange.ANY, PortRange.ANY, null, 2, 1);
    }

    @Test
    void executorsGetTheMallocSettingsUnlessTheUserSetsTheirOwn() {
        SparkConf conf = BarrierStage.conf(settings(), UserConf.NONE);
        assertEquals(MallocTuning.TUNABLES, conf.get("spark.executorEnv.GLIBC_TUNABLES"));
        assertEquals(MallocTuning.ARENA_MAX, conf.get("spark.executorEnv.MALLOC_ARENA_MAX"));

        conf = BarrierStage.conf(settings(), UserConf.parse(List.of("spark.executorEnv.GLIBC_TUNABLES=glibc.x=1",
                "spark.executorEnv.MALLOC_ARENA_MAX=4")));
        assertEquals("glibc.x=1", conf.get("spark.executorEnv.GLIBC_TUNABLES"));
        assertEquals("4", conf.get("spark.executorEnv.MALLOC_ARENA_MAX"));
    }
}
