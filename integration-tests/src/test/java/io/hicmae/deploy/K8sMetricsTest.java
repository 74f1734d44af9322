package io.hicmae.deploy;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static io.hicmae.deploy.Manifests.appSpec;
import static io.hicmae.deploy.Manifests.isApp;
import static io.hicmae.deploy.Manifests.list;
import static io.hicmae.deploy.Manifests.map;
import static io.hicmae.deploy.Manifests.name;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every rendered training application (pretrain, nightly) serves its live metrics: the UI on a fixed port, the
 * PrometheusServlet sink at {@code /metrics/prometheus}, and scrape annotations on the driver pod naming both.
 */
class K8sMetricsTest {

    @Test
    void trainingDriversAreScrapedOnTheirPrometheusEndpoint() throws IOException {
        int checked = 0;
        for (Map.Entry<String, List<Map<String, Object>>> tree : Manifests.renderedTrees().entrySet()) {
            for (Map<String, Object> doc : tree.getValue()) {
                if (!isApp(doc)) {
                    continue;
                }
                Map<String, Object> spec = appSpec(doc);
                if (!"pretrain".equals(list(spec.get("arguments")).get(0))) {
                    continue;
                }
                String where = tree.getKey() + " " + name(doc);
                Map<String, Object> conf = map(spec.get("sparkConf"));
                assertEquals("true", conf.get("spark.ui.enabled"), where);
                assertEquals("org.apache.spark.metrics.sink.PrometheusServlet",
                        conf.get("spark.metrics.conf.*.sink.prometheusServlet.class"), where);
                Map<String, Object> annotations = map(map(spec.get("driver")).get("annotations"));
                assertEquals("true", annotations.get("prometheus.io/scrape"), where);
                assertEquals(conf.get("spark.ui.port"), annotations.get("prometheus.io/port"), where);
                assertEquals(conf.get("spark.metrics.conf.*.sink.prometheusServlet.path"),
                        annotations.get("prometheus.io/path"), where);
                checked++;
            }
        }
        assertEquals(6, checked, "pretrain and nightly in base and both overlays");
    }
}
