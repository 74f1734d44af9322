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
 * AUTH    connector -> acceptor : magic, rank, worldSize, layoutHash, nonceC[32], HMAC(magic|nonceA|rank|worldSize|layoutHash|nonceC)
 * ACCEPT  acceptor  -> connector: magic, rank, worldSize, layoutHash, HMAC(magic|nonceC|rank|worldSize|layoutHash|nonceA)
 * </pre>
 *
 * The HMAC is HMAC-SHA256 keyed with the job secret; it is compared in constant time.
 */
final class Handshake {
    static final int HELLO_MAGIC = 0x48434831;  // "HCH1"
    static final int AUTH_MAGIC = 0x48434131;   // "HCA1"
    static final int ACCEPT_MAGIC = 0x48434b31; // "HCK1"
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    static final int HELLO_BYTES = 4 + NONCE_BYTES;
    static final int AUTH_BYTES = 4 + 4 + 4 + 8 + NONCE_BYTES + MAC_BYTES;
    static final int ACCEPT_BYTES = 4 + 4 + 4 + 8 + MAC_BYTES;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Who a peer says it is; only trusted once its HMAC checked out. */
    record Identity(int rank, int worldSize, long layoutHash) {
        String mismatch(Identity expected) {
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
        ByteBuffer b = buffer(AUTH_BYTES).putInt(AUTH_MAGIC).putInt(me.rank()).putInt(me.worldSize())
                .putLong(me.layoutHash()).put(nonceC);
        return b.put(hmac(secret, AUTH_MAGIC, nonceA, me, nonceC)).flip();
    }

    /** The connector's identity and nonce from a complete AUTH, or null when it does not know the secret. */
    static Authenticated verifyAuth(byte[] secret, ByteBuffer msg, byte[] nonceA) {
        msg.order(ByteOrder.LITTLE_ENDIAN);
        if (msg.getInt(0) != AUTH_MAGIC) {
            return null;
        }
        Identity peer = new Identity(msg.getInt(4), msg.getInt(8), msg.getLong(12));
        byte[] nonceC = new byte[NONCE_BYTES];
        msg.get(20, nonceC);
        byte[] mac = new byte[MAC_BYTES];
        msg.get(20 + NONCE_BYTES, mac);
        boolean ok = MessageDigest.isEqual(mac, hmac(secret, AUTH_MAGIC, nonceA, peer, nonceC));
        return ok ? new Authenticated(peer, nonceC) : null;
    }

    /** A connector that proved the secret. */
    record Authenticated(Identity identity, byte[] nonceC) {
    }

    static ByteBuffer accept(byte[] secret, byte[] nonceC, Identity me, byte[] nonceA) {
        ByteBuffer b = buffer(ACCEPT_BYTES).putInt(ACCEPT_MAGIC).putInt(me.rank()).putInt(me.worldSize())
                .putLong(me.layoutHash());
        return b.put(hmac(secret, ACCEPT_MAGIC, nonceC, me, nonceA)).flip();
    }

    /** The acceptor's identity from a complete ACCEPT, or null when it does not know the secret. */
    static Identity verifyAccept(byte[] secret, ByteBuffer msg, byte[] nonceC, byte[] nonceA) {
        msg.order(ByteOrder.LITTLE_ENDIAN);
        if (msg.getInt(0) != ACCEPT_MAGIC) {
            return null;
        }
        Identity peer = new Identity(msg.getInt(4), msg.getInt(8), msg.getLong(12));
        byte[] mac = new byte[MAC_BYTES];
        msg.get(20, mac);
        return MessageDigest.isEqual(mac, hmac(secret, ACCEPT_MAGIC, nonceC, peer, nonceA)) ? peer : null;
    }

    static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] hmac(byte[] secret, int magic, byte[] theirNonce, Identity sender, byte[] ownNonce) {
        ByteBuffer m = buffer(4 + NONCE_BYTES + 4 + 4 + 8 + NONCE_BYTES).putInt(magic).put(theirNonce)
                .putInt(sender.rank()).putInt(sender.worldSize()).putLong(sender.layoutHash()).put(ownNonce);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(m.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
