package io.hicmae.runtime.allreduce;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * The three fixed-size messages that open a ring link, little-endian. The acceptor (the receiving side of a
 * link) and the connector (the sending side) each prove the job secret over the other's fresh nonce, so
 * neither a replayed nor a reflected message passes:
 *
 * <pre>
 * HELLO   acceptor  -> connector: magic, nonceA[32]
 * AUTH    connector -> acceptor : magic, identity, nonceC[32], HMAC(magic|nonceA|identity|nonceC)
 * ACCEPT  acceptor  -> connector: magic, identity, HMAC(magic|nonceC|identity|nonceA)
 * identity = rank int, worldSize int, layoutHash long, runHash long, attempt int, frameVersion short,
 *            wireDtype byte, reserved byte
 * </pre>
 *
 * The HMAC is HMAC-SHA256 keyed with the job secret; it is compared in constant time. The identity binds the
 * run (a hash of its id) and the attempt: every attempt of a run shares the secret, so without them a rank of a
 * failed attempt, or of another run started with the same secret, could join a newer ring. It also carries the
 * frame format version and the wire dtype, so ranks that would speak different frames refuse each other here.
 */
final class Handshake {
    static final int HELLO_MAGIC = 0x48434832;  // "HCH2"
    static final int AUTH_MAGIC = 0x48434132;   // "HCA2"
    static final int ACCEPT_MAGIC = 0x48434b32; // "HCK2"
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    static final int IDENTITY_BYTES = 4 + 4 + 8 + 8 + 4 + 2 + 1 + 1;
    static final int HELLO_BYTES = 4 + NONCE_BYTES;
    static final int AUTH_BYTES = 4 + IDENTITY_BYTES + NONCE_BYTES + MAC_BYTES;
    static final int ACCEPT_BYTES = 4 + IDENTITY_BYTES + MAC_BYTES;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Who a peer says it is; only trusted once its HMAC checked out. */
    record Identity(int rank, int worldSize, long layoutHash, long runHash, int attempt, short frameVersion,
                    byte wireDtype) {

        /** This rank's identity, or that of the rank {@code rank} expected by a ring built from {@code c}. */
        static Identity of(AllReduceConfig c, int rank) {
            return new Identity(rank, c.worldSize(), c.layoutHash(), c.runHash(), c.attempt(), Frame.VERSION,
                    c.wireDtype().code());
        }

        void write(ByteBuffer b) {
            b.putInt(rank).putInt(worldSize).putLong(layoutHash).putLong(runHash).putInt(attempt)
                    .putShort(frameVersion).put(wireDtype).put((byte) 0);
        }

        static Identity read(ByteBuffer b, int at) {
            return new Identity(b.getInt(at), b.getInt(at + 4), b.getLong(at + 8), b.getLong(at + 16),
                    b.getInt(at + 24), b.getShort(at + 28), b.get(at + 30));
        }

        String mismatch(Identity expected) {
            if (frameVersion != expected.frameVersion) {
                return "it speaks ring frame format version " + frameVersion + " while this rank speaks version "
                        + expected.frameVersion;
            }
            if (runHash != expected.runHash) {
                return String.format("it belongs to another run (run id hash %016x, this rank's %016x)", runHash,
                        expected.runHash);
            }
            if (attempt != expected.attempt) {
                return "it is a rank of attempt " + attempt + " while this rank is in attempt " + expected.attempt
                        + ": ranks of different attempts never join one ring";
            }
            if (worldSize != expected.worldSize) {
                return "world size " + worldSize + " differs from this rank's " + expected.worldSize;
            }
            if (rank != expected.rank) {
                return "it is rank " + rank + " but rank " + expected.rank + " was expected here";
            }
            if (layoutHash != expected.layoutHash) {
                return String.format("its gradient layout hash %016x differs from this rank's %016x: the ranks"
                        + " built different models (parameter names or shapes differ)", layoutHash,
                        expected.layoutHash);
            }
            if (wireDtype != expected.wireDtype) {
                WireDtype theirs = WireDtype.ofCode(wireDtype);
                return "its all-reduce wire dtype " + (theirs == null ? "code " + wireDtype : theirs)
                        + " differs from this rank's " + WireDtype.ofCode(expected.wireDtype)
                        + " (allreduce-dtype must be the same on every rank)";
            }
            return null;
        }
    }

    private Handshake() {
    }

    static byte[] newNonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    static ByteBuffer hello(byte[] nonceA) {
        return buffer(HELLO_BYTES).putInt(HELLO_MAGIC).put(nonceA).flip();
    }

    /** The acceptor's nonce from a complete HELLO, or null when the magic is wrong. */
    static byte[] readHello(ByteBuffer msg) {
        msg.order(ByteOrder.LITTLE_ENDIAN);
        if (msg.getInt(0) != HELLO_MAGIC) {
            return null;
        }
        byte[] nonceA = new byte[NONCE_BYTES];
        msg.get(4, nonceA);
        return nonceA;
    }

    static ByteBuffer auth(byte[] secret, byte[] nonceA, Identity me, byte[] nonceC) {
        ByteBuffer b = buffer(AUTH_BYTES).putInt(AUTH_MAGIC);
        me.write(b);
        b.put(nonceC);
        return b.put(hmac(secret, AUTH_MAGIC, nonceA, me, nonceC)).flip();
    }

    /** The connector's identity and nonce from a complete AUTH, or null when it does not know the secret. */
    static Authenticated verifyAuth(byte[] secret, ByteBuffer msg, byte[] nonceA) {
        msg.order(ByteOrder.LITTLE_ENDIAN);
        if (msg.getInt(0) != AUTH_MAGIC) {
            return null;
        }
        Identity peer = Identity.read(msg, 4);
        byte[] nonceC = new byte[NONCE_BYTES];
        msg.get(4 + IDENTITY_BYTES, nonceC);
        byte[] mac = new byte[MAC_BYTES];
        msg.get(4 + IDENTITY_BYTES + NONCE_BYTES, mac);
        boolean ok = MessageDigest.isEqual(mac, hmac(secret, AUTH_MAGIC, nonceA, peer, nonceC));
        return ok ? new Authenticated(peer, nonceC) : null;
    }

    /** A connector that proved the secret. */
    record Authenticated(Identity identity, byte[] nonceC) {
    }

    static ByteBuffer accept(byte[] secret, byte[] nonceC, Identity me, byte[] nonceA) {
        ByteBuffer b = buffer(ACCEPT_BYTES).putInt(ACCEPT_MAGIC);
        me.write(b);
        return b.put(hmac(secret, ACCEPT_MAGIC, nonceC, me, nonceA)).flip();
    }

    /** The acceptor's identity from a complete ACCEPT, or null when it does not know the secret. */
    static Identity verifyAccept(byte[] secret, ByteBuffer msg, byte[] nonceC, byte[] nonceA) {
        msg.order(ByteOrder.LITTLE_ENDIAN);
        if (msg.getInt(0) != ACCEPT_MAGIC) {
            return null;
        }
        Identity peer = Identity.read(msg, 4);
        byte[] mac = new byte[MAC_BYTES];
        msg.get(4 + IDENTITY_BYTES, mac);
        return MessageDigest.isEqual(mac, hmac(secret, ACCEPT_MAGIC, nonceC, peer, nonceA)) ? peer : null;
    }

    static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] hmac(byte[] secret, int magic, byte[] theirNonce, Identity sender, byte[] ownNonce) {
        ByteBuffer m = buffer(4 + NONCE_BYTES + IDENTITY_BYTES + NONCE_BYTES).putInt(magic).put(theirNonce);
        sender.write(m);
        m.put(ownNonce);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(m.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
