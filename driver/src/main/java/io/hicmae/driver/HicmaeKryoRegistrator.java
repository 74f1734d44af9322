package io.hicmae.driver;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.hicmae.driver.pretrain.RankResult;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Kryo registrations for what our Spark jobs return from tasks. Kryo's field serializer cannot build Java records
 * (it needs field offsets records do not give), so records travel through Java serialization inside Kryo.
 */
public final class HicmaeKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(RankResult.class, new JavaSerializer());
        kryo.register(io.hicmae.driver.finetune.ClipEntry.class, new JavaSerializer());
        kryo.register(io.hicmae.driver.finetune.EvaluateJob.Prediction.class, new JavaSerializer());
    }
}
