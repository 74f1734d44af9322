package io.hicmae.driver.spark;

import ai.djl.Device;
import io.hicmae.zoo.ModelZoo;
import org.apache.hadoop.conf.Configuration;

/**
 * What the shared rank loop hands a job's {@link TrainingSpec#open}: this rank, the world, the device the rank
 * trains on, the open zoo and the Hadoop configuration for data.
 *
 * @param rank this rank, in [0, worldSize)
 * @param worldSize ranks of this attempt
 * @param device the rank's device
 * @param zoo the run's zoo, open for the task's lifetime
 * @param hadoop the configuration for the datasets' file systems
 */
public record RankEnv(int rank, int worldSize, Device device, ModelZoo zoo, Configuration hadoop) {}
