package io.hicmae.driver.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Kryo registrations for what the shared training stage returns ({@link RankResult}); each job adds its own
 * registrator for its own types ({@link BarrierStage#session}). Kryo's field serializer cannot build Java records
 * (it needs field offsets records do not give), so records travel through Java serialization inside Kryo.
 */
public final class TrainingKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(RankResult.class, new JavaSerializer());
    }
}
