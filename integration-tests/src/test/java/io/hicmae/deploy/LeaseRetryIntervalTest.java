package io.hicmae.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.zoo.ZooConfig;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The operator's retry of a failed training application reuses its run id, so it must come after the dead driver's run
 * lease expired ({@link ZooConfig#LEASE_TTL_MS}): every training application's {@code onFailureRetryInterval}
 * exceeds the default lease TTL (driver/README.md, fault table).
 */
class LeaseRetryIntervalTest {
    @Test
    @SuppressWarnings("unchecked")
    void trainingRetriesComeAfterTheLeaseExpires() throws IOException {
        long ttlSeconds = ZooConfig.LEASE_TTL_MS_DEFAULT / 1000;
        int training = 0;
        for (Map.Entry<String, List<Map<String, Object>>> tree : Manifests.renderedTrees().entrySet()) {
            for (Map<String, Object> doc : tree.getValue()) {
                if (!Manifests.isApp(doc)) {
                    continue;
                }
                Map<String, Object> spec = Manifests.appSpec(doc);
                List<Object> args = (List<Object>) spec.get("arguments");
                if (args == null || !List.of("pretrain", "finetune").contains(String.valueOf(args.get(0)))) {
                    continue;
                }
                training++;
                Map<String, Object> restart = (Map<String, Object>) spec.get("restartPolicy");
                String where = tree.getKey() + " " + Manifests.name(doc);
                assertEquals("OnFailure", restart.get("type"), where);
                long interval = Long.parseLong(String.valueOf(restart.get("onFailureRetryInterval")));
                assertTrue(interval > ttlSeconds, where + ": onFailureRetryInterval " + interval
                        + " s must exceed the run lease TTL of " + ttlSeconds + " s, or the retry finds the run held");
            }
        }
        assertTrue(training >= 2, "expected the pretrain and nightly applications, found " + training);
    }
}
