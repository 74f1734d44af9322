package io.hicmae.driver;

import com.esotericsoftware.kryo.Kryo;
import io.hicmae.driver.finetune.FinetuneKryoRegistrator;
import io.hicmae.driver.spark.TrainingKryoRegistrator;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Every job's Kryo registrations at once, for a session shared by several jobs (tests, a notebook): the jobs
 * themselves name only their own ({@link io.hicmae.driver.spark.BarrierStage#session}).
 */
public final class HicmaeKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        new TrainingKryoRegistrator().registerClasses(kryo);
        new FinetuneKryoRegistrator().registerClasses(kryo);
    }
}
