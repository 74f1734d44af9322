package io.hicmae.driver.finetune;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Kryo registrations for what the fine-tuning and evaluation jobs' plain stages return: labelled clips and
 * predictions (records, so through Java serialization inside Kryo; see
 * {@link io.hicmae.driver.spark.TrainingKryoRegistrator}).
 */
public final class FinetuneKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(ClipEntry.class, new JavaSerializer());
        kryo.register(EvaluateJob.Prediction.class, new JavaSerializer());
    }
}
