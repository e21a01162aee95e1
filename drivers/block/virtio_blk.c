// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtio block device driver with budgeted irq_poll completion.
 *
 * With CONFIG_VIRTIO_BLK_IOPOLL and kernel.blk_iopoll=1, a virtqueue
 * interrupt may hand the ring to an irq_poll instance instead of
 * completing requests itself: callbacks go off and the poller completes
 * at most "budget" requests per run, stays scheduled while the ring keeps
 * yielding work and gives the ring back to the interrupt once it is empty.
 *
 * By default a per-queue controller decides both steps: the interrupt
 * completes inline while too few requests are in flight for a batch to
 * form, and a drained poller keeps callbacks off for a delay learnt from
 * the queue itself, so that completions gather, falling back to interrupts
 * as soon as a deferred run finds too little.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq-virtio.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/hdreg.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/irq_poll.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysctl.h>
#include <linux/virtio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/workqueue.h>

#include "virtio_blk_compat.h"

#define VBLK_PART_BITS		4
#define VBLK_MAX_DISKS		(1 << (MINORBITS - VBLK_PART_BITS))
#define VBLK_INLINE_SGS		2
/* Discard ranges travel in one kmalloc'ed buffer of at most a page. */
#define VBLK_MAX_RANGES		\
	(PAGE_SIZE / sizeof(struct virtio_blk_discard_write_zeroes))
/*
 * irq_poll lets all pollers of a CPU complete 256 requests per softirq
 * run; a larger budget could only starve the other pollers.
 */
#define VBLK_BUDGET_MAX		256
#define VBLK_BUDGET_DEFAULT	64
#define VBLK_DEFER_MAX_US	10000
/*
 * The moderation controller's structural numbers (counts, never times):
 * a deferral is worth a timer interrupt only if it gathers at least
 * VBLK_BATCH_MIN completions; and it only pays where the batch saves more
 * interrupts than the timer costs plus the overlap of completion and
 * submission it gives up, which took more than 4 requests in flight in
 * our measurements (at queue depth 4 deferring lost a quarter of the
 * IOPS, at 8 it gained a fifth), hence VBLK_GATE_DEPTH.  The gate stays
 * open for VBLK_GATE_EVENTS completion events after it last saw that
 * depth.
 */
#define VBLK_BATCH_MIN		2
#define VBLK_GATE_DEPTH		5
#define VBLK_GATE_EVENTS	64

/*
 * A deferral pays only where interrupts alone would bring smaller batches:
 * a submitter that already batches (many requests per doorbell) gets its
 * whole batch in one interrupt, and waiting on a timer instead only adds
 * latency.  Every VBLK_PROBE_RUNS deferred runs the controller re-arms
 * once and looks at what the interrupt brings; at least half of the
 * deferred batch shuts the gate for VBLK_SHUT_MIN events, doubling up to
 * VBLK_SHUT_MAX while the probes keep saying so.  A probe can be fooled:
 * its interrupt follows a deferred batch, to which any submitter replies
 * with a burst (4k randread QD32, no batching, shut the gate at 7 to 14 of
 * 52 to 95 probes in 3 s under QEMU TCG).  Asking two probes in a row to
 * agree cut that to 0 to 6, but kept a batching submitter deferring on a
 * third of its completion events where one probe keeps it under a quarter.
 */
#define VBLK_PROBE_RUNS		16
#define VBLK_SHUT_MIN		64
#define VBLK_SHUT_MAX		1024

/*
 * The gate sees only the depth that the completion path lets build up.
 * Where the device finishes each request before the submitter adds the
 * next (QEMU TCG), completing inline keeps even a QD32 submitter at one
 * or two requests in flight: once a fallback closed the gate, nothing
 * would open it again, since only a wait lets the requests pile up.  So
 * a closed gate explores: after VBLK_EXPLORE_MIN gated interrupts
 * (doubling up to VBLK_EXPLORE_MAX while explorations find nothing), the
 * next one that saw VBLK_EXPLORE_DEPTH requests in flight hands the ring
 * to the poller, which defers once as if the gate were open.  A queue
 * that never has three in flight (queue depth 1 or 2) never explores; one
 * seen deep again starts over from VBLK_EXPLORE_MIN.  The wait must let
 * VBLK_GATE_DEPTH requests arrive at the pace the gated queue runs at,
 * one per gated interrupt: the learnt delay may be far shorter (it fits
 * the bursts of a deferring queue), and an exploration that ends too
 * early finds nothing and doubles the wait before the next one.  After a
 * fallback that broke a run of deferred batches, the first exploration
 * comes after only VBLK_EXPLORE_SOON gated interrupts, whatever their
 * depth: the queue was deep a batch ago, and one empty wait (a submitter
 * descheduled for its length) is more likely than a workload turned
 * shallow; if it did, that exploration fails and the doubling goes on
 * from there.
 */
#define VBLK_EXPLORE_DEPTH	3
#define VBLK_EXPLORE_SOON	8
#define VBLK_EXPLORE_MIN	64
#define VBLK_EXPLORE_MAX	4096

static unsigned int num_request_queues;
static int vblk_set_queue_count(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, nr_cpu_ids);
}

static const struct kernel_param_ops vblk_queue_count_ops = {
	.set = vblk_set_queue_count,
	.get = param_get_uint,
};

module_param_cb(num_request_queues, &vblk_queue_count_ops,
		&num_request_queues, 0644);
MODULE_PARM_DESC(num_request_queues,
		 "Limit the number of request queues (0 = one per CPU, the default)");

static unsigned int poll_queues;
module_param(poll_queues, uint, 0644);
MODULE_PARM_DESC(poll_queues,
		 "Number of queues without interrupts, for io_uring polled I/O (default 0)");

static unsigned int queue_depth;
module_param(queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth,
		 "Requests per queue, used as given (0 = fill the virtqueue, the default)");

static bool batch_submit = true;
module_param(batch_submit, bool, 0644);
MODULE_PARM_DESC(batch_submit,
		 "Add a plugged list of requests to a ring under one lock hold, with one kick (default 1; 0: one request at a time, for comparison)");

static int vblk_major;
static DEFINE_IDA(vblk_index_ida);
static struct dentry *vblk_debugfs_root;

/* Updated and read under vblk_vq.lock, so that a reset cannot tear. */
struct vblk_vq_stats {
	u64 interrupts;
	u64 polls;
	u64 completed;
	u64 budget_exhausted;
	u64 rearm_races;
	u64 kicks;
	u64 timer_polls;
	u64 inline_irqs;	/* completed in the handler: gate closed */
	u64 gate_rearms;	/* drained run re-armed: gate closed */
	u64 deferrals;		/* drained run kept callbacks off */
	u64 fallbacks;		/* deferred run found too little */
	u64 probes;		/* re-armed to see what an interrupt brings */
	u64 probe_shuts;	/* ... and it brought enough: gate shut */
	u64 explores;		/* deferred with the gate closed, to see */
	u64 explore_opens;	/* ... and the queue got deep: gate open */
	u64 timeout_recoveries;	/* stranded completions found by ->timeout */
};

/*
 * Moderation state.  The in-flight fields change under vblk_vq.lock on
 * both paths; the estimates and the delay belong to the poller (the
 * holder of IRQ_POLL_F_SCHED), which updates them under the lock too so
 * that debugfs reads a consistent picture.
 */
struct vblk_moderation {
	unsigned int inflight;	/* added to the ring, not yet taken off */
	unsigned int peak;	/* most in flight since the last event */
	unsigned int gate;	/* events the gate stays open */
	unsigned int shut;	/* events the gate stays shut after a probe */
	unsigned int shut_len;	/* the next shut */
	unsigned int runs;	/* deferred runs since the last probe */
	unsigned int explore_wait;	/* gated interrupts since exploring */
	unsigned int explore_len;	/* ... before the next exploration */
	unsigned int def_batch;	/* deferred runs' batch (EWMA) */
	bool deferred;		/* callbacks off, timer armed on drain */
	bool collecting;	/* the deferred run is still going on */
	bool probing;		/* the next drained run judges the probe */
	bool exploring;		/* an exploration is under way */
	bool explore_soon;	/* after a fallback: at any depth */
	bool gathered;		/* the last drained run: a deferred batch */
	unsigned int batch;	/* what the run completed so far */
	u64 last_event_ns;	/* last drained poller run */
	u64 gated_ns;		/* last gated interrupt */
	u64 gap_ns;		/* between gated interrupts (EWMA) */
	u64 defer_start_ns;	/* when the current deferral began */
	u64 last_submit_ns;	/* last submission during a deferral */
	u64 defer_ns;		/* the learnt delay */
};

struct vblk_dev;

struct vblk_vq {
	spinlock_t lock;		/* serialises the virtqueue */
	struct virtqueue *vq;
	struct vblk_dev *vblk;
	struct blk_mq_hw_ctx *hctx;
	struct irq_poll iop;
	struct hrtimer defer_timer;	/* polls again instead of re-arming */
	struct vblk_moderation mod;
	char name[24];
	struct vblk_vq_stats stats ____cacheline_aligned_in_smp;
} ____cacheline_aligned_in_smp;

struct vblk_dev {
	/* NULL once the device is gone; getgeo checks under vdev_mutex */
	struct virtio_device *vdev;
	struct mutex vdev_mutex;	/* guards vdev against removal */
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	struct work_struct config_work;
	struct dentry *debugfs;
	atomic_t swallow_irqs;		/* fault injection, see debugfs */
	unsigned long timeout_warned;	/* bit 0: said so once */
	int index;
	bool zeroes_may_unmap;
	bool wce;			/* cache mode kept across freeze */
	unsigned int iopoll_budget;	/* 0: follow kernel.blk_iopoll_budget */
	int iopoll_adaptive;		/* -1: follow kernel.blk_iopoll_adaptive */
	unsigned int num_vqs;
	unsigned int io_queues[HCTX_MAX_TYPES];
	struct vblk_vq *vqs;
};

struct vblk_req {
	struct virtio_blk_outhdr out_hdr;
	u8 status;
	struct vblk_req *next;		/* ring order of requests taken off */
	struct sg_table sg_table;
	int nents;			/* mapped data entries, for queue_rqs */
	struct scatterlist sg[];
};

#define CREATE_TRACE_POINTS
#include "virtio_blk_trace.h"

/* ------------------------------------------------------------------ */
/* iopoll controls                                                    */
/* ------------------------------------------------------------------ */

/*
 * How completions reach the block layer, decided from the controls once
 * per interrupt or poller run and passed down from there.
 */
enum vblk_mode {
	VBLK_MODE_IRQ,		/* complete in the interrupt handler */
	VBLK_MODE_POLL,		/* poller, re-arm as soon as drained */
	VBLK_MODE_ADAPTIVE,	/* the moderation controller decides */
	VBLK_MODE_FIXED,	/* controller with a fixed delay */
};

struct vblk_ctl {
	enum vblk_mode mode;
	int budget;
	u64 fixed_ns;		/* VBLK_MODE_FIXED: the delay */
};

#ifdef CONFIG_VIRTIO_BLK_IOPOLL

static unsigned int blk_iopoll = 1;
static unsigned int blk_iopoll_budget = VBLK_BUDGET_DEFAULT;
static unsigned int vblk_budget_min = 1;
static unsigned int vblk_budget_max = VBLK_BUDGET_MAX;
static unsigned int blk_iopoll_defer_us;
static unsigned int vblk_defer_max = VBLK_DEFER_MAX_US;
static unsigned int blk_iopoll_adaptive = 1;

static int vblk_set_bool(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 1);
}

static int vblk_set_budget(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, VBLK_BUDGET_MAX);
}

static int vblk_set_defer(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, VBLK_DEFER_MAX_US);
}

static const struct kernel_param_ops vblk_bool_ops = {
	.set = vblk_set_bool,
	.get = param_get_uint,
};

static const struct kernel_param_ops vblk_budget_ops = {
	.set = vblk_set_budget,
	.get = param_get_uint,
};

static const struct kernel_param_ops vblk_defer_ops = {
	.set = vblk_set_defer,
	.get = param_get_uint,
};

module_param_cb(blk_iopoll, &vblk_bool_ops, &blk_iopoll, 0644);
MODULE_PARM_DESC(blk_iopoll,
		 "Complete requests from a budgeted irq_poll softirq instead of the interrupt handler (0/1, default 1; sysctl kernel.blk_iopoll)");
module_param_cb(blk_iopoll_budget, &vblk_budget_ops, &blk_iopoll_budget, 0644);
MODULE_PARM_DESC(blk_iopoll_budget,
		 "Requests completed per poller run (1-256, default 64; sysctl kernel.blk_iopoll_budget)");
module_param_cb(blk_iopoll_adaptive, &vblk_bool_ops, &blk_iopoll_adaptive,
		0644);
MODULE_PARM_DESC(blk_iopoll_adaptive,
		 "Let a per-queue controller choose inline completion or the poller, and how long a drained poller defers re-arming (0/1, default 1; sysctl kernel.blk_iopoll_adaptive)");
module_param_cb(blk_iopoll_defer_us, &vblk_defer_ops, &blk_iopoll_defer_us,
		0644);
MODULE_PARM_DESC(blk_iopoll_defer_us,
		 "Fixed delay in microseconds before a drained poller re-arms, overriding the controller's (0-10000, default 0 = learnt by the controller, or none when it is off; sysctl kernel.blk_iopoll_defer_us)");

static struct ctl_table vblk_sysctls[] = {
	{
		.procname	= "blk_iopoll",
		.data		= &blk_iopoll,
		.maxlen		= sizeof(blk_iopoll),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "blk_iopoll_budget",
		.data		= &blk_iopoll_budget,
		.maxlen		= sizeof(blk_iopoll_budget),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &vblk_budget_min,
		.extra2		= &vblk_budget_max,
	},
	{
		.procname	= "blk_iopoll_defer_us",
		.data		= &blk_iopoll_defer_us,
		.maxlen		= sizeof(blk_iopoll_defer_us),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &vblk_defer_max,
	},
	{
		.procname	= "blk_iopoll_adaptive",
		.data		= &blk_iopoll_adaptive,
		.maxlen		= sizeof(blk_iopoll_adaptive),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	COMPAT_CTL_TABLE_END
};

static struct ctl_table_header *vblk_sysctl_header;

static int vblk_sysctl_register(void)
{
	vblk_sysctl_header = register_sysctl("kernel", vblk_sysctls);
	return vblk_sysctl_header ? 0 : -ENOMEM;
}

static void vblk_sysctl_unregister(void)
{
	unregister_sysctl_table(vblk_sysctl_header);
}

static void vblk_read_ctl(const struct vblk_dev *vblk, struct vblk_ctl *ctl)
{
	unsigned int defer_us = READ_ONCE(blk_iopoll_defer_us);
	int adaptive = READ_ONCE(vblk->iopoll_adaptive);

	ctl->budget = READ_ONCE(vblk->iopoll_budget) ?:
		      READ_ONCE(blk_iopoll_budget);
	ctl->fixed_ns = (u64)defer_us * NSEC_PER_USEC;
	if (adaptive < 0)
		adaptive = READ_ONCE(blk_iopoll_adaptive);

	if (!READ_ONCE(blk_iopoll))
		ctl->mode = VBLK_MODE_IRQ;
	else if (defer_us)
		ctl->mode = VBLK_MODE_FIXED;
	else if (adaptive)
		ctl->mode = VBLK_MODE_ADAPTIVE;
	else
		ctl->mode = VBLK_MODE_POLL;
}

static ssize_t iopoll_budget_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct vblk_dev *vblk = dev_to_disk(dev)->private_data;

	return sysfs_emit(buf, "%u\n", READ_ONCE(vblk->iopoll_budget));
}

static ssize_t iopoll_budget_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	struct vblk_dev *vblk = dev_to_disk(dev)->private_data;
	unsigned int budget;

	if (kstrtouint(buf, 0, &budget) || budget > VBLK_BUDGET_MAX)
		return -EINVAL;
	WRITE_ONCE(vblk->iopoll_budget, budget);
	return count;
}

static DEVICE_ATTR_RW(iopoll_budget);

static ssize_t iopoll_adaptive_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct vblk_dev *vblk = dev_to_disk(dev)->private_data;

	return sysfs_emit(buf, "%d\n", READ_ONCE(vblk->iopoll_adaptive));
}

static ssize_t iopoll_adaptive_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct vblk_dev *vblk = dev_to_disk(dev)->private_data;
	int adaptive;

	if (kstrtoint(buf, 0, &adaptive) || adaptive < -1 || adaptive > 1)
		return -EINVAL;
	WRITE_ONCE(vblk->iopoll_adaptive, adaptive);
	return count;
}

static DEVICE_ATTR_RW(iopoll_adaptive);

#else /* !CONFIG_VIRTIO_BLK_IOPOLL */

static int vblk_sysctl_register(void)
{
	return 0;
}

static void vblk_sysctl_unregister(void)
{
}

static void vblk_read_ctl(const struct vblk_dev *vblk, struct vblk_ctl *ctl)
{
	ctl->mode = VBLK_MODE_IRQ;
}

#endif /* CONFIG_VIRTIO_BLK_IOPOLL */

/* ------------------------------------------------------------------ */
/* Submission                                                         */
/* ------------------------------------------------------------------ */

static blk_status_t vblk_setup_ranges(struct request *rq, u32 flags)
{
	unsigned short segs = blk_rq_nr_discard_segments(rq);
	struct virtio_blk_discard_write_zeroes *range;
	unsigned int n = 0;
	struct bio *bio;

	range = kmalloc_array(segs, sizeof(*range), GFP_ATOMIC);
	if (!range)
		return BLK_STS_RESOURCE;

	/*
	 * A single-range request may still hold several bios merged back to
	 * back; describe it as one range.
	 */
	if (segs == 1) {
		range[0].sector = cpu_to_le64(blk_rq_pos(rq));
		range[0].num_sectors = cpu_to_le32(blk_rq_sectors(rq));
		range[0].flags = cpu_to_le32(flags);
		n = 1;
	} else {
		__rq_for_each_bio(bio, rq) {
			range[n].sector = cpu_to_le64(bio->bi_iter.bi_sector);
			range[n].num_sectors = cpu_to_le32(bio_sectors(bio));
			range[n].flags = cpu_to_le32(flags);
			n++;
		}
		WARN_ON_ONCE(n != segs);
	}

	rq->special_vec.bv_page = virt_to_page(range);
	rq->special_vec.bv_offset = offset_in_page(range);
	rq->special_vec.bv_len = sizeof(*range) * n;
	rq->rq_flags |= RQF_SPECIAL_PAYLOAD;
	return BLK_STS_OK;
}

static blk_status_t vblk_setup_cmd(struct vblk_dev *vblk, struct request *rq,
				   struct vblk_req *vbr)
{
	u32 zeroes_flags = 0;
	blk_status_t ret = BLK_STS_OK;
	u64 sector = 0;
	u32 type;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		type = VIRTIO_BLK_T_IN;
		sector = blk_rq_pos(rq);
		break;
	case REQ_OP_WRITE:
		type = VIRTIO_BLK_T_OUT;
		sector = blk_rq_pos(rq);
		break;
	case REQ_OP_FLUSH:
		type = VIRTIO_BLK_T_FLUSH;
		break;
	case REQ_OP_DISCARD:
		type = VIRTIO_BLK_T_DISCARD;
		ret = vblk_setup_ranges(rq, 0);
		break;
	case REQ_OP_WRITE_ZEROES:
		type = VIRTIO_BLK_T_WRITE_ZEROES;
		if (vblk->zeroes_may_unmap && !(rq->cmd_flags & REQ_NOUNMAP))
			zeroes_flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		ret = vblk_setup_ranges(rq, zeroes_flags);
		break;
	case REQ_OP_SECURE_ERASE:
		type = VIRTIO_BLK_T_SECURE_ERASE;
		ret = vblk_setup_ranges(rq, 0);
		break;
	case REQ_OP_DRV_IN:
		/* the only private command this driver issues */
		type = VIRTIO_BLK_T_GET_ID;
		break;
	default:
		WARN_ON_ONCE(1);
		return BLK_STS_IOERR;
	}

	vbr->out_hdr.type = cpu_to_virtio32(vblk->vdev, type);
	vbr->out_hdr.ioprio = cpu_to_virtio32(vblk->vdev, req_get_ioprio(rq));
	vbr->out_hdr.sector = cpu_to_virtio64(vblk->vdev, sector);
	/* a device that returns the buffer without a status failed it */
	vbr->status = VIRTIO_BLK_S_IOERR;
	return ret;
}

static int vblk_map_data(struct request *rq, struct vblk_req *vbr)
{
	unsigned short segs = blk_rq_nr_phys_segments(rq);

	if (!segs)
		return 0;
	vbr->sg_table.sgl = vbr->sg;
	if (sg_alloc_table_chained(&vbr->sg_table, segs, vbr->sg,
				   VBLK_INLINE_SGS))
		return -ENOMEM;
	return blk_rq_map_sg(rq->q, rq, vbr->sg_table.sgl);
}

static void vblk_unmap_data(struct request *rq, struct vblk_req *vbr)
{
	if (blk_rq_nr_phys_segments(rq))
		sg_free_table_chained(&vbr->sg_table, VBLK_INLINE_SGS);
	if (rq->rq_flags & RQF_SPECIAL_PAYLOAD) {
		kfree(bvec_virt(&rq->special_vec));
		rq->rq_flags &= ~RQF_SPECIAL_PAYLOAD;
	}
}

static int vblk_add_req(struct virtqueue *vq, struct vblk_req *vbr,
			int nents, bool to_device)
{
	struct scatterlist hdr, status, *sgs[3];
	unsigned int num_out = 0, num_in = 0;

	sg_init_one(&hdr, &vbr->out_hdr, sizeof(vbr->out_hdr));
	sgs[num_out++] = &hdr;
	if (nents) {
		if (to_device)
			sgs[num_out++] = vbr->sg_table.sgl;
		else
			sgs[num_out + num_in++] = vbr->sg_table.sgl;
	}
	sg_init_one(&status, &vbr->status, sizeof(vbr->status));
	sgs[num_out + num_in++] = &status;

	return virtqueue_add_sgs(vq, sgs, num_out, num_in, vbr, GFP_ATOMIC);
}

/* Called with bvq->lock held; the notify itself goes outside the lock. */
static bool vblk_kick_prepare(struct vblk_vq *bvq)
{
	lockdep_assert_held(&bvq->lock);
	if (!virtqueue_kick_prepare(bvq->vq))
		return false;
	bvq->stats.kicks++;
	trace_virtio_blk_kick(bvq);
	return true;
}

/*
 * What the moderation controller learns from the submission side: how
 * deep the queue gets, and while a deferral is pending, when the
 * submitter last added work (a deferral that outlasts the submitter's
 * burst only adds latency).
 */
static void vblk_note_submit(struct vblk_vq *bvq)
{
	struct vblk_moderation *m = &bvq->mod;

	lockdep_assert_held(&bvq->lock);
	if (++m->inflight > m->peak)
		m->peak = m->inflight;
	if (m->deferred)
		m->last_submit_ns = ktime_get_ns();
}

/* Header and data mapping of @rq; on failure nothing is left to undo. */
static blk_status_t vblk_prep_rq(struct vblk_dev *vblk, struct request *rq,
				 struct vblk_req *vbr, int *nents)
{
	blk_status_t ret;

	ret = vblk_setup_cmd(vblk, rq, vbr);
	if (unlikely(ret))
		return ret;

	*nents = vblk_map_data(rq, vbr);
	if (unlikely(*nents < 0)) {
		vblk_unmap_data(rq, vbr);
		return BLK_STS_RESOURCE;
	}
	return BLK_STS_OK;
}

static blk_status_t vblk_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct vblk_vq *bvq = hctx->driver_data;
	struct vblk_dev *vblk = bvq->vblk;
	struct request *rq = bd->rq;
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	blk_status_t ret;
	bool kick;
	int nents, err;

	ret = vblk_prep_rq(vblk, rq, vbr, &nents);
	if (unlikely(ret))
		return ret;

	blk_mq_start_request(rq);

	spin_lock_irqsave(&bvq->lock, flags);
	err = vblk_add_req(bvq->vq, vbr, nents, rq_data_dir(rq) == WRITE);
	if (unlikely(err)) {
		/*
		 * Ring full: let the device see what is queued and park the
		 * hardware queue until a completion frees descriptors.
		 */
		kick = vblk_kick_prepare(bvq);
		if (err == -ENOSPC)
			blk_mq_stop_hw_queue(hctx);
		spin_unlock_irqrestore(&bvq->lock, flags);
		if (kick)
			virtqueue_notify(bvq->vq);
		vblk_unmap_data(rq, vbr);
		switch (err) {
		case -ENOSPC:
			/*
			 * Not BLK_STS_DEV_RESOURCE: the completions may
			 * restart the queue before blk-mq puts this request
			 * back on the dispatch list, and batched completion
			 * (blk_mq_end_request_batch) runs no SCHED_RESTART
			 * rerun; with RESOURCE blk-mq reruns the queue after
			 * a short delay in that case.
			 */
			return BLK_STS_RESOURCE;
		case -ENOMEM:
			return BLK_STS_RESOURCE;
		default:
			return BLK_STS_IOERR;
		}
	}

	vblk_note_submit(bvq);
	kick = bd->last && vblk_kick_prepare(bvq);
	spin_unlock_irqrestore(&bvq->lock, flags);

	if (kick)
		virtqueue_notify(bvq->vq);
	return BLK_STS_OK;
}

/*
 * Batched submission: the requests of one plug list, prepared already,
 * go onto @bvq's ring under one hold of its lock, with one kick.  Each is
 * started just before it is added, so that the device never completes a
 * request the block layer has not seen start.  A request the ring refuses
 * has been started: it is requeued (and the hardware queue stopped when
 * the ring is full, as ->queue_rq does); the rest of the batch is unmapped
 * and goes on @back, not started, for the block layer to queue one by one.
 */
static void vblk_add_batch(struct vblk_vq *bvq, struct compat_rq_list *batch,
			   struct compat_rq_list *back)
{
	struct request *rq, *refused = NULL;
	unsigned long flags;
	bool kick;
	int err = 0;

	spin_lock_irqsave(&bvq->lock, flags);
	while ((rq = compat_rq_list_pop(batch))) {
		struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);

		blk_mq_start_request(rq);
		err = vblk_add_req(bvq->vq, vbr, vbr->nents,
				   rq_data_dir(rq) == WRITE);
		if (unlikely(err)) {
			if (err == -ENOSPC)
				blk_mq_stop_hw_queue(bvq->hctx);
			refused = rq;
			break;
		}
		vblk_note_submit(bvq);
	}
	kick = vblk_kick_prepare(bvq);
	spin_unlock_irqrestore(&bvq->lock, flags);

	if (kick)
		virtqueue_notify(bvq->vq);
	if (likely(!refused))
		return;

	vblk_unmap_data(refused, blk_mq_rq_to_pdu(refused));
	if (err == -ENOSPC || err == -ENOMEM)
		blk_mq_requeue_request(refused, true);
	else
		blk_mq_end_request(refused, BLK_STS_IOERR);
	while ((rq = compat_rq_list_pop(batch))) {
		vblk_unmap_data(rq, blk_mq_rq_to_pdu(rq));
		compat_rq_list_add_tail(back, rq);
	}
}

/*
 * ->queue_rqs: every request of @rqlist belongs to this disk; consecutive
 * ones for the same hardware queue form one batch.  What cannot be
 * prepared, or meets a stopped hardware queue, stays on the list, not
 * started: the block layer then queues it through ->queue_rq, as it
 * does with the whole list when batch_submit is off.
 */
static void vblk_queue_rq_list(struct compat_rq_list *rqlist)
{
	struct compat_rq_list batch, back;
	struct blk_mq_hw_ctx *hctx = NULL;
	struct request *rq;

	if (!READ_ONCE(batch_submit))
		return;
	compat_rq_list_init(&batch);
	compat_rq_list_init(&back);
	while ((rq = compat_rq_list_pop(rqlist))) {
		struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);

		if (hctx && rq->mq_hctx != hctx) {
			vblk_add_batch(hctx->driver_data, &batch, &back);
			hctx = NULL;
		}
		if (test_bit(BLK_MQ_S_STOPPED, &rq->mq_hctx->state) ||
		    vblk_prep_rq(rq->q->queuedata, rq, vbr, &vbr->nents)) {
			compat_rq_list_add_tail(&back, rq);
			continue;
		}
		/*
		 * blk-mq's timeout scan finds a started request through
		 * tags->rqs[], which its ->queue_rq dispatch fills in and
		 * this path does not: without it, a request stuck here
		 * would never time out.
		 */
		rq->mq_hctx->tags->rqs[rq->tag] = rq;
		hctx = rq->mq_hctx;
		compat_rq_list_add_tail(&batch, rq);
	}
	if (hctx)
		vblk_add_batch(hctx->driver_data, &batch, &back);
	*rqlist = back;
}

COMPAT_QUEUE_RQS(vblk_queue_rqs, vblk_queue_rq_list)

static void vblk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct vblk_vq *bvq = hctx->driver_data;
	unsigned long flags;
	bool kick;

	spin_lock_irqsave(&bvq->lock, flags);
	kick = vblk_kick_prepare(bvq);
	spin_unlock_irqrestore(&bvq->lock, flags);

	if (kick)
		virtqueue_notify(bvq->vq);
}

/* ------------------------------------------------------------------ */
/* Completion                                                         */
/* ------------------------------------------------------------------ */

static blk_status_t vblk_result(const struct vblk_req *vbr)
{
	switch (vbr->status) {
	case VIRTIO_BLK_S_OK:
		return BLK_STS_OK;
	case VIRTIO_BLK_S_UNSUPP:
		return BLK_STS_NOTSUPP;
	default:
		return BLK_STS_IOERR;
	}
}

static void vblk_complete_rq(struct request *rq)
{
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);

	vblk_unmap_data(rq, vbr);
	blk_mq_end_request(rq, vblk_result(vbr));
}

static void vblk_complete_batch(struct io_comp_batch *iob)
{
	struct request *rq;

	rq_list_for_each(&iob->req_list, rq)
		vblk_unmap_data(rq, blk_mq_rq_to_pdu(rq));
	blk_mq_end_request_batch(iob);
}

/*
 * Take up to @budget finished requests off the ring, in ring order, and
 * chain them on @chain.  Completing them happens after the lock is
 * dropped, so that submitters on other CPUs do not wait for bio
 * completion work.
 */
static int vblk_pull(struct vblk_vq *bvq, int budget, struct vblk_req **chain)
{
	struct vblk_req *vbr, **tail = chain;
	unsigned int len;
	int n = 0;

	lockdep_assert_held(&bvq->lock);
	while (*tail)
		tail = &(*tail)->next;
	while (n < budget && (vbr = virtqueue_get_buf(bvq->vq, &len))) {
		vbr->next = NULL;
		*tail = vbr;
		tail = &vbr->next;
		n++;
	}
	bvq->stats.completed += n;
	bvq->mod.inflight -= min_t(unsigned int, n, bvq->mod.inflight);
	return n;
}

/*
 * Without @iob (interrupt context) the block layer picks the CPU that
 * completes each request.  With it (irq_poll or ->poll) a request
 * submitted from this CPU's cache domain finishes here, batched where
 * the block layer allows; others still go back to their CPU.
 */
static void vblk_finish(struct vblk_req *chain, struct io_comp_batch *iob)
{
	while (chain) {
		struct request *rq = blk_mq_rq_from_pdu(chain);
		bool failed = chain->status != VIRTIO_BLK_S_OK;

		/* the pdu may be reused as soon as the request ends */
		chain = chain->next;

		if (!iob)
			blk_mq_complete_request(rq);
		else if (!blk_mq_complete_request_remote(rq) &&
			 !blk_mq_add_to_batch(rq, iob, failed,
					      vblk_complete_batch))
			vblk_complete_rq(rq);
	}
}

/* Classic completion: drain until the ring stays empty with callbacks on. */
static int vblk_pull_all(struct vblk_vq *bvq, struct vblk_req **chain)
{
	int n = 0;

	lockdep_assert_held(&bvq->lock);
	do {
		virtqueue_disable_cb(bvq->vq);
		n += vblk_pull(bvq, INT_MAX, chain);
	} while (!virtqueue_enable_cb(bvq->vq));
	return n;
}

static void vblk_finish_irq(struct vblk_vq *bvq, struct vblk_req *chain,
			    int n)
{
	vblk_finish(chain, NULL);
	if (n)
		blk_mq_start_stopped_hw_queue(bvq->hctx, true);
}

#ifdef CONFIG_VIRTIO_BLK_IOPOLL

/*
 * Callbacks off and poller scheduled, in one step under the vq lock.
 * irq_poll has no napi_schedule_prep(): irq_poll_sched() silently does
 * nothing while the poller still holds IRQ_POLL_F_SCHED.  Were the two
 * steps free to interleave with the poller's re-arm, a late interrupt
 * could turn callbacks off just after the poller turned them on, have its
 * schedule swallowed, and leave the queue with neither interrupts nor a
 * poller.  Under the lock, either the poller has not let go yet (it will
 * turn callbacks on after us) or it has (and our schedule goes through).
 */
static void vblk_iopoll_take(struct vblk_vq *bvq)
{
	lockdep_assert_held(&bvq->lock);
	virtqueue_disable_cb(bvq->vq);
	irq_poll_sched(&bvq->iop);
	trace_virtio_blk_irq(bvq, VBLK_TRACE_IRQ_POLLER, 0);
}

/*
 * Give the ring back to the interrupt.  A completion can land between the
 * poller's last virtqueue_get_buf() and the moment callbacks are on again;
 * its interrupt was suppressed or found the poller still scheduled, so
 * nobody else would reap it.  Hence: turn callbacks on, then check
 * whether the device moved past the position they were armed at, all
 * before the poller is released.  Nothing here may touch the vq after
 * irq_poll_complete(): from then on vblk_iopoll_stop() may return and
 * the vqs go away.  When the device did move on, the poller goes to the
 * back of this CPU's list for another run instead.
 */
static void vblk_iopoll_rearm(struct vblk_vq *bvq)
{
	unsigned int last;

	lockdep_assert_held(&bvq->lock);
	last = virtqueue_enable_cb_prepare(bvq->vq);
	if (unlikely(virtqueue_poll(bvq->vq, last))) {
		bvq->stats.rearm_races++;
		trace_virtio_blk_rearm_race(bvq);
		virtqueue_disable_cb(bvq->vq);
		irq_poll_complete(&bvq->iop);
		irq_poll_sched(&bvq->iop);
		return;
	}
	irq_poll_complete(&bvq->iop);
}

/*
 * Keep callbacks off, release the poller and let the timer schedule it.
 * The timer callback takes the vq lock too, so it cannot fire between the
 * two steps and find the poller still held, which would drop its
 * schedule and leave the ring with neither interrupts nor a poller.
 */
static void vblk_iopoll_defer(struct vblk_vq *bvq, u64 delay_ns, u64 now)
{
	lockdep_assert_held(&bvq->lock);
	bvq->stats.deferrals++;
	bvq->mod.deferred = true;
	bvq->mod.defer_start_ns = now;
	irq_poll_complete(&bvq->iop);
	hrtimer_start(&bvq->defer_timer, ns_to_ktime(delay_ns),
		      HRTIMER_MODE_REL_PINNED);
}

static enum hrtimer_restart vblk_defer_expired(struct hrtimer *timer)
{
	struct vblk_vq *bvq = container_of(timer, struct vblk_vq, defer_timer);
	unsigned long flags;

	spin_lock_irqsave(&bvq->lock, flags);
	bvq->stats.timer_polls++;
	trace_virtio_blk_defer_expired(bvq);
	irq_poll_sched(&bvq->iop);
	spin_unlock_irqrestore(&bvq->lock, flags);
	return HRTIMER_NORESTART;
}

/*
 * A run that follows a deferral, whoever scheduled it (a late interrupt
 * may beat the timer), starts the deferred run; a timer still pending
 * would only add an empty one.  The deferred run lasts until the ring is
 * drained: a batch larger than the budget takes several poller runs, and
 * the controller must judge the wait by all of it.
 */
static void vblk_defer_end(struct vblk_vq *bvq)
{
	struct vblk_moderation *m = &bvq->mod;

	lockdep_assert_held(&bvq->lock);
	if (!m->deferred)
		return;
	m->deferred = false;
	m->collecting = true;
	hrtimer_try_to_cancel(&bvq->defer_timer);
}

/*
 * The gate.  A batch can only form where several requests are in flight
 * at once, so the softirq hop and any deferral are paid only after the
 * queue reached VBLK_GATE_DEPTH in flight within the last
 * VBLK_GATE_EVENTS completion events.  A workload of queue depth 4 or
 * less never gets there: it completes in the interrupt as if iopoll were
 * off, apart from the rare exploration at depth 3 or 4.  After a probe
 * found deferring futile, the gate stays shut for m->shut events
 * whatever the depth.
 */
static bool vblk_gate_open(struct vblk_moderation *m)
{
	if (m->shut) {
		m->shut--;
		m->gate = 0;
	} else if (m->peak >= VBLK_GATE_DEPTH) {
		m->gate = VBLK_GATE_EVENTS;
		m->explore_len = VBLK_EXPLORE_MIN;
		m->exploring = false;
		m->explore_soon = false;
	} else if (m->gate) {
		m->gate--;
	}
	m->peak = m->inflight;
	return m->gate;
}

/*
 * The pace of the gated queue, for the exploration's wait.  A pause in the
 * I/O counts as at most a fifth of the longest deferral, so that one
 * pause stretches the next exploration's wait to that at worst.  A pause
 * also ends the workload that fell back: what comes after it explores
 * only when deep, as a fresh one would (queue depth 1 or 2 never does).
 */
static void vblk_note_gated(struct vblk_moderation *m)
{
	u64 now = ktime_get_ns(), gap;

	if (m->gated_ns) {
		gap = now - m->gated_ns;
		if (gap > 4 * m->gap_ns)
			m->explore_soon = false;
		gap = min_t(u64, gap,
			    VBLK_DEFER_MAX_US * NSEC_PER_USEC / VBLK_GATE_DEPTH);
		m->gap_ns = m->gap_ns ? m->gap_ns - m->gap_ns / 8 + gap / 8 : gap;
	}
	m->gated_ns = now;
}

/*
 * Whether this gated interrupt hands the ring to the poller to explore
 * (see VBLK_EXPLORE_DEPTH): once the wait is over, the first interrupt
 * that saw enough in flight since the last event (@peak) does.  So does
 * the next such interrupt of an exploration whose drained run had no
 * delay to defer by yet: the run after it learns one.
 */
static bool vblk_explore(struct vblk_moderation *m, unsigned int peak)
{
	if (m->shut)
		return false;
	if (!m->exploring &&
	    m->explore_wait < max(m->explore_len, VBLK_EXPLORE_MIN)) {
		m->explore_wait++;
		return false;
	}
	if (peak < VBLK_EXPLORE_DEPTH && !m->explore_soon)
		return false;
	m->explore_soon = false;
	m->explore_wait = 0;
	m->exploring = true;
	return true;
}

/* The deferred run of an exploration: did the wait let the queue fill? */
static void vblk_explore_judge(struct vblk_vq *bvq)
{
	struct vblk_moderation *m = &bvq->mod;

	m->exploring = false;
	if (m->peak >= VBLK_GATE_DEPTH) {
		bvq->stats.explore_opens++;
		m->explore_len = VBLK_EXPLORE_MIN;
	} else {
		m->explore_len = min(2 * max(m->explore_len, VBLK_EXPLORE_MIN),
				     VBLK_EXPLORE_MAX);
	}
}

/*
 * Learn the delay from the deferred run that just ended.  The deferral
 * pays while the submitter, freed by the last batch, adds work that
 * completes without interrupts; once it has nothing more to add (queue
 * full, or waiting for completions), the rest of the wait is latency.
 * So: a submitter still adding work in the last 1/32 of the wait was cut
 * short, wait longer; one that stopped earlier sets the target, its burst
 * plus a sixteenth (cutting a burst short costs a smaller batch, waiting
 * past it costs idle time); a batch of a full budget or more means the
 * wait can shrink.  The window must be narrower than the target's margin
 * (1/32 of the wait against 1/16 of the burst): a wider one would see
 * every wait at its target as cut short and keep pushing it past.
 * Completions that came with no submission at all (the device set the
 * pace) leave the delay as it is: it gathered a batch.
 */
static void vblk_learn_delay(struct vblk_moderation *m, unsigned int done,
			     u64 now, unsigned int budget)
{
	u64 waited = now - m->defer_start_ns;
	u64 d = m->defer_ns, burst = 0;

	if (m->last_submit_ns > m->defer_start_ns)
		burst = m->last_submit_ns - m->defer_start_ns;

	if (done >= budget)
		d -= d / 4;
	else if (burst && now - m->last_submit_ns < waited / 32)
		d += d / 4;
	else if (burst)
		d = (d + burst + burst / 16) / 2;
	m->defer_ns = clamp_t(u64, d, NSEC_PER_USEC,
			      VBLK_DEFER_MAX_US * NSEC_PER_USEC);
}

/*
 * Whether this drained run re-arms as a probe (see VBLK_PROBE_RUNS), and
 * the verdict of the probe before it: @done is what the run completed,
 * @deferred whether it followed a deferral.  A run after the probe's
 * re-arm was started by an interrupt (or a re-arm race), never a timer.
 */
static bool vblk_irq_probe(struct vblk_vq *bvq, bool deferred, unsigned int done)
{
	struct vblk_moderation *m = &bvq->mod;

	if (deferred) {
		m->def_batch = m->def_batch ? (3 * m->def_batch + done) / 4 : done;
		if (++m->runs < VBLK_PROBE_RUNS)
			return false;
		m->runs = 0;
		m->probing = true;
		bvq->stats.probes++;
		return true;
	}
	if (!m->probing)
		return false;
	m->probing = false;
	m->shut_len = max(m->shut_len, VBLK_SHUT_MIN);
	if (2 * done >= m->def_batch) {
		bvq->stats.probe_shuts++;
		m->exploring = false;
		m->shut = m->shut_len;
		m->shut_len = min(2 * m->shut_len, VBLK_SHUT_MAX);
	} else {
		m->shut_len = VBLK_SHUT_MIN;
	}
	return false;
}

/*
 * A fallback that broke a run of deferred batches explores soon (see
 * VBLK_EXPLORE_SOON); @soon is false where it ends an exploration or the
 * delay is fixed.
 */
static void vblk_fall_back(struct vblk_vq *bvq, bool soon, u64 now)
{
	struct vblk_moderation *m = &bvq->mod;

	bvq->stats.fallbacks++;
	m->gate = 0;
	m->peak = m->inflight;
	if (soon && m->gathered) {
		/* the fallback is the queue's last event */
		m->gated_ns = now;
		m->explore_wait = max(m->explore_len, VBLK_EXPLORE_MIN) -
				  VBLK_EXPLORE_SOON;
		m->explore_soon = true;
	}
	m->gathered = false;
}

/*
 * The drained poller's choice: the delay to keep callbacks off for, or 0
 * to re-arm now.  A deferred run that found less than a batch falls back
 * to interrupts at once, and the gate must see a deep queue again before
 * the next try.  The first delay is the time the queue took to produce
 * this run's completions.  @outcome: which of these it was, for the
 * virtio_blk_poll event.
 */
static u64 vblk_defer_delay(struct vblk_vq *bvq, const struct vblk_ctl *ctl,
			    u64 now, unsigned int *outcome)
{
	struct vblk_moderation *m = &bvq->mod;
	u64 since = now - m->last_event_ns, delay;
	bool deferred = m->collecting, explored = m->exploring;
	unsigned int done = m->batch;

	m->collecting = false;
	m->batch = 0;
	*outcome = VBLK_TRACE_POLL_REARM;

	if (ctl->mode != VBLK_MODE_ADAPTIVE && ctl->mode != VBLK_MODE_FIXED)
		return 0;
	if (ctl->mode == VBLK_MODE_ADAPTIVE) {
		if (deferred)
			vblk_learn_delay(m, done, now, ctl->budget);
		else if (!m->defer_ns && m->last_event_ns)
			m->defer_ns = clamp_t(u64, since, NSEC_PER_USEC,
					      VBLK_DEFER_MAX_US * NSEC_PER_USEC);
		m->last_event_ns = now;
	}
	if (deferred && m->exploring)
		vblk_explore_judge(bvq);
	if (deferred && done < VBLK_BATCH_MIN) {
		vblk_fall_back(bvq, ctl->mode == VBLK_MODE_ADAPTIVE && !explored,
			       now);
		*outcome = VBLK_TRACE_POLL_FALLBACK;
		return 0;
	}
	m->gathered = deferred;
	if (ctl->mode == VBLK_MODE_ADAPTIVE && vblk_irq_probe(bvq, deferred, done)) {
		*outcome = VBLK_TRACE_POLL_PROBE;
		return 0;
	}
	if (!vblk_gate_open(m) && !m->exploring) {
		bvq->stats.gate_rearms++;
		*outcome = VBLK_TRACE_POLL_GATE;
		return 0;
	}
	/* no delay learnt yet (the queue's first drained run): re-arm */
	delay = ctl->mode == VBLK_MODE_FIXED ? ctl->fixed_ns : m->defer_ns;
	if (delay && m->exploring) {
		if (ctl->mode == VBLK_MODE_ADAPTIVE)
			delay = max_t(u64, delay, VBLK_GATE_DEPTH * m->gap_ns);
		bvq->stats.explores++;
		*outcome = VBLK_TRACE_POLL_EXPLORE;
	} else if (delay) {
		*outcome = VBLK_TRACE_POLL_DEFER;
	}
	return delay;
}

static void vblk_iopoll_drained(struct vblk_vq *bvq,
				const struct vblk_ctl *ctl, int done, int weight)
{
	unsigned int outcome;
	unsigned long flags;
	u64 now = 0, delay;

	if (ctl->mode == VBLK_MODE_ADAPTIVE)
		now = ktime_get_ns();
	spin_lock_irqsave(&bvq->lock, flags);
	delay = vblk_defer_delay(bvq, ctl, now, &outcome);
	trace_virtio_blk_poll(bvq, done, weight, outcome, delay);
	if (delay)
		vblk_iopoll_defer(bvq, delay, now);
	else
		vblk_iopoll_rearm(bvq);
	spin_unlock_irqrestore(&bvq->lock, flags);
}

/*
 * A run completes at most the weight the core passed in; a new budget
 * becomes the weight of the next run, so that what the core charges to
 * its per-softirq allowance is always what was done.
 */
static int vblk_iopoll(struct irq_poll *iop, int weight)
{
	struct vblk_vq *bvq = container_of(iop, struct vblk_vq, iop);
	struct vblk_req *chain = NULL;
	DEFINE_IO_COMP_BATCH(iob);
	struct vblk_ctl ctl;
	unsigned long flags;
	int done;

	vblk_read_ctl(bvq->vblk, &ctl);
	spin_lock_irqsave(&bvq->lock, flags);
	vblk_defer_end(bvq);
	bvq->stats.polls++;
	done = vblk_pull(bvq, weight, &chain);
	bvq->mod.batch += done;
	if (done == weight)
		bvq->stats.budget_exhausted++;
	spin_unlock_irqrestore(&bvq->lock, flags);

	vblk_finish(chain, &iob);
	if (iob.complete)
		iob.complete(&iob);
	if (done)
		blk_mq_start_stopped_hw_queue(bvq->hctx, true);
	/* the core reads the weight on this CPU, between runs we own */
	iop->weight = ctl.budget;

	/* more may be waiting: the core keeps us scheduled, callbacks off */
	if (done == weight) {
		trace_virtio_blk_poll(bvq, done, weight, VBLK_TRACE_POLL_MORE, 0);
		return weight;
	}
	vblk_iopoll_drained(bvq, &ctl, done, weight);
	return done;
}

/*
 * The interrupt's choice: hand the ring to the poller, or complete here.
 * The controller completes here while its gate is shut, unless the poller
 * already owns the ring (scheduled, or deferring with callbacks off).
 */
static bool vblk_irq_to_poller(struct vblk_vq *bvq, const struct vblk_ctl *ctl)
{
	struct vblk_moderation *m = &bvq->mod;
	unsigned int peak = m->peak;

	lockdep_assert_held(&bvq->lock);
	switch (ctl->mode) {
	case VBLK_MODE_IRQ:
		return false;
	case VBLK_MODE_POLL:
		return true;
	default:
		if (m->deferred || test_bit(IRQ_POLL_F_SCHED, &bvq->iop.state) ||
		    vblk_gate_open(m))
			return true;
		vblk_note_gated(m);
		if (vblk_explore(m, peak))
			return true;
		bvq->stats.inline_irqs++;
		return false;
	}
}

static void vblk_iopoll_init(struct vblk_dev *vblk, struct vblk_vq *bvq)
{
	struct vblk_ctl ctl;

	vblk_read_ctl(vblk, &ctl);
	memset(&bvq->mod, 0, sizeof(bvq->mod));
	irq_poll_init(&bvq->iop, ctl.budget, vblk_iopoll);
	hrtimer_init(&bvq->defer_timer, CLOCK_MONOTONIC,
		     HRTIMER_MODE_REL_PINNED);
	bvq->defer_timer.function = vblk_defer_expired;
}

/*
 * Owning the poller first makes a late timer's schedule a no-op.  The
 * lock round trip waits out a releaser still inside its critical section:
 * it drops IRQ_POLL_F_SCHED under the lock, and a deferring one starts
 * the timer after that, so the timer may only be cancelled once the
 * round trip is done.  From then on nothing can arm it again (only the
 * poller does, and we own it), and nothing touches the vq.
 */
static void vblk_iopoll_stop(struct vblk_vq *bvq)
{
	irq_poll_disable(&bvq->iop);
	spin_lock_irq(&bvq->lock);
	spin_unlock_irq(&bvq->lock);
	hrtimer_cancel(&bvq->defer_timer);
}

#else

static void vblk_iopoll_take(struct vblk_vq *bvq)
{
}

static bool vblk_irq_to_poller(struct vblk_vq *bvq, const struct vblk_ctl *ctl)
{
	return false;
}

static void vblk_iopoll_init(struct vblk_dev *vblk, struct vblk_vq *bvq)
{
	memset(&bvq->mod, 0, sizeof(bvq->mod));
}

static void vblk_iopoll_stop(struct vblk_vq *bvq)
{
}

#endif /* CONFIG_VIRTIO_BLK_IOPOLL */

static void vblk_vq_done(struct virtqueue *vq)
{
	struct vblk_dev *vblk = vq->vdev->priv;
	struct vblk_vq *bvq = &vblk->vqs[vq->index];
	struct vblk_req *chain = NULL;
	struct vblk_ctl ctl;
	unsigned long flags;
	int n;

	vblk_read_ctl(vblk, &ctl);
	spin_lock_irqsave(&bvq->lock, flags);
	bvq->stats.interrupts++;
	if (unlikely(atomic_dec_if_positive(&vblk->swallow_irqs) >= 0)) {
		/* injected fault: the ring is left with no one to drain it */
		virtqueue_disable_cb(bvq->vq);
		trace_virtio_blk_irq(bvq, VBLK_TRACE_IRQ_LOST, 0);
		spin_unlock_irqrestore(&bvq->lock, flags);
		return;
	}
	if (vblk_irq_to_poller(bvq, &ctl)) {
		/* quiet until the poller has drained the ring; it re-arms */
		vblk_iopoll_take(bvq);
		spin_unlock_irqrestore(&bvq->lock, flags);
		return;
	}
	n = vblk_pull_all(bvq, &chain);
	trace_virtio_blk_irq(bvq, ctl.mode == VBLK_MODE_IRQ ?
			     VBLK_TRACE_IRQ_INLINE : VBLK_TRACE_IRQ_GATED, n);
	spin_unlock_irqrestore(&bvq->lock, flags);
	vblk_finish_irq(bvq, chain, n);
}

static int vblk_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob)
{
	struct vblk_vq *bvq = hctx->driver_data;
	struct vblk_req *chain = NULL;
	unsigned long flags;
	int done;

	spin_lock_irqsave(&bvq->lock, flags);
	done = vblk_pull(bvq, INT_MAX, &chain);
	spin_unlock_irqrestore(&bvq->lock, flags);
	vblk_finish(chain, iob);
	if (done)
		blk_mq_start_stopped_hw_queue(hctx, true);
	return done;
}

/*
 * The one way this driver can lose a completion is a ring left with
 * callbacks off and no poller to drain it.  A request that times out on
 * such a ring is finished, not failed: drain it the way the interrupt
 * does, which also turns callbacks back on, and say so once per disk.
 * With nothing on the ring the device is just slow: keep waiting, as the
 * block layer does without a handler.
 */
static enum blk_eh_timer_return vblk_timeout(struct request *rq)
{
	struct vblk_vq *bvq = rq->mq_hctx->driver_data;
	struct vblk_dev *vblk = bvq->vblk;
	struct vblk_req *vbr, *chain = NULL;
	bool found = false;
	unsigned long flags;
	int n;

	if (!bvq->vq->callback)
		return BLK_EH_RESET_TIMER;

	spin_lock_irqsave(&bvq->lock, flags);
	n = vblk_pull_all(bvq, &chain);
	if (n)
		bvq->stats.timeout_recoveries++;
	spin_unlock_irqrestore(&bvq->lock, flags);
	if (!n)
		return BLK_EH_RESET_TIMER;

	for (vbr = chain; vbr; vbr = vbr->next)
		found |= blk_mq_rq_from_pdu(vbr) == rq;
	if (!test_and_set_bit(0, &vblk->timeout_warned))
		dev_warn(&vblk->vdev->dev,
			 "[%s] %s: %d completions found stranded on the ring at a timeout; recovered\n",
			 vblk->disk->disk_name, bvq->name, n);
	vblk_finish_irq(bvq, chain, n);
	return found ? BLK_EH_DONE : BLK_EH_RESET_TIMER;
}

static int vblk_init_hctx(struct blk_mq_hw_ctx *hctx, void *data,
			  unsigned int hctx_idx)
{
	struct vblk_dev *vblk = data;
	struct vblk_vq *bvq = &vblk->vqs[hctx_idx];

	bvq->hctx = hctx;
	hctx->driver_data = bvq;
	return 0;
}

static void vblk_map_queues(struct blk_mq_tag_set *set)
{
	struct vblk_dev *vblk = set->driver_data;
	unsigned int i, offset = 0;

	for (i = 0; i < set->nr_maps; i++) {
		struct blk_mq_queue_map *map = &set->map[i];

		map->nr_queues = vblk->io_queues[i];
		map->queue_offset = offset;
		offset += map->nr_queues;
		if (!map->nr_queues)
			continue;
		/* interrupt queues follow their vector's affinity */
		if (i == HCTX_TYPE_POLL)
			blk_mq_map_queues(map);
		else
			blk_mq_virtio_map_queues(map, vblk->vdev, 0);
	}
}

static const struct blk_mq_ops vblk_mq_ops = {
	.queue_rq	= vblk_queue_rq,
	.queue_rqs	= vblk_queue_rqs,
	.commit_rqs	= vblk_commit_rqs,
	.complete	= vblk_complete_rq,
	.init_hctx	= vblk_init_hctx,
	.map_queues	= vblk_map_queues,
	.poll		= vblk_poll,
	.timeout	= vblk_timeout,
};

/* ------------------------------------------------------------------ */
/* Virtqueues                                                         */
/* ------------------------------------------------------------------ */

static bool vblk_vq_has_irq(const struct vblk_dev *vblk, unsigned int i)
{
	return i < vblk->io_queues[HCTX_TYPE_DEFAULT];
}

static int vblk_alloc_vqs(struct vblk_dev *vblk)
{
	struct virtio_device *vdev = vblk->vdev;
	unsigned int nr, npoll;
	u16 num_queues = 1;

	virtio_cread_feature(vdev, VIRTIO_BLK_F_MQ, struct virtio_blk_config,
			     num_queues, &num_queues);
	if (!num_queues) {
		dev_err(&vdev->dev, "device reports zero request queues\n");
		return -EINVAL;
	}

	nr = min_t(unsigned int, num_queues,
		   num_request_queues ?: nr_cpu_ids);
	npoll = min(poll_queues, nr - 1);

	vblk->num_vqs = nr;
	vblk->io_queues[HCTX_TYPE_DEFAULT] = nr - npoll;
	vblk->io_queues[HCTX_TYPE_READ] = 0;
	vblk->io_queues[HCTX_TYPE_POLL] = npoll;
	vblk->vqs = kcalloc(nr, sizeof(*vblk->vqs), GFP_KERNEL);
	return vblk->vqs ? 0 : -ENOMEM;
}

static int vblk_find_vqs(struct vblk_dev *vblk)
{
	/* the transport keeps its config vector out of the spreading itself */
	struct irq_affinity desc = { 0 };
	unsigned int i, n = vblk->num_vqs;
	struct virtqueue_info *info;
	struct virtqueue **vqs;
	int err = -ENOMEM;

	info = kcalloc(n, sizeof(*info), GFP_KERNEL);
	vqs = kcalloc(n, sizeof(*vqs), GFP_KERNEL);
	if (!info || !vqs)
		goto out;

	for (i = 0; i < n; i++) {
		struct vblk_vq *bvq = &vblk->vqs[i];

		if (vblk_vq_has_irq(vblk, i)) {
			snprintf(bvq->name, sizeof(bvq->name), "req.%u", i);
			info[i].callback = vblk_vq_done;
		} else {
			snprintf(bvq->name, sizeof(bvq->name), "req_poll.%u", i);
		}
		info[i].name = bvq->name;
	}

	err = compat_find_vqs(vblk->vdev, n, vqs, info, &desc);
	if (err)
		goto out;

	for (i = 0; i < n; i++) {
		struct vblk_vq *bvq = &vblk->vqs[i];

		spin_lock_init(&bvq->lock);
		bvq->vq = vqs[i];
		bvq->vblk = vblk;
		if (vblk_vq_has_irq(vblk, i))
			vblk_iopoll_init(vblk, bvq);
	}
out:
	kfree(vqs);
	kfree(info);
	return err;
}

/* The device must be reset (no more callbacks) before this is called. */
static void vblk_del_vqs(struct vblk_dev *vblk, struct virtio_device *vdev)
{
	unsigned int i;

	for (i = 0; i < vblk->num_vqs; i++)
		if (vblk_vq_has_irq(vblk, i))
			vblk_iopoll_stop(&vblk->vqs[i]);
	vdev->config->del_vqs(vdev);
}

/* ------------------------------------------------------------------ */
/* Disk attributes and operations                                     */
/* ------------------------------------------------------------------ */

static int vblk_get_id(struct gendisk *disk, char *id)
{
	struct request_queue *q = disk->queue;
	struct request *rq;
	int err;

	rq = blk_mq_alloc_request(q, REQ_OP_DRV_IN, 0);
	if (IS_ERR(rq))
		return PTR_ERR(rq);

	err = blk_rq_map_kern(q, rq, id, VIRTIO_BLK_ID_BYTES, GFP_KERNEL);
	if (!err)
		err = blk_status_to_errno(blk_execute_rq(rq, false));
	blk_mq_free_request(rq);
	return err;
}

static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	char *id;
	int err;

	/* the device writes the id by DMA: no stack buffer */
	id = kzalloc(VIRTIO_BLK_ID_BYTES, GFP_KERNEL);
	if (!id)
		return -ENOMEM;

	/* no newline: the attribute has always been the bare id */
	err = vblk_get_id(dev_to_disk(dev), id);
	if (!err)
		err = sysfs_emit(buf, "%.*s",
				 (int)strnlen(id, VIRTIO_BLK_ID_BYTES), id);
	kfree(id);
	return err;
}

static DEVICE_ATTR_RO(serial);

static const char *const vblk_cache_modes[] = {
	"write through",
	"write back",
};

static bool vblk_writeback(struct virtio_device *vdev)
{
	u8 wce;

	if (!virtio_has_feature(vdev, VIRTIO_BLK_F_FLUSH))
		return false;
	if (virtio_cread_feature(vdev, VIRTIO_BLK_F_CONFIG_WCE,
				 struct virtio_blk_config, wce, &wce))
		return true;
	return wce;
}

static int vblk_update_cache_mode(struct vblk_dev *vblk)
{
	return compat_set_write_cache(vblk->disk->queue,
				      vblk_writeback(vblk->vdev));
}

static ssize_t cache_type_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vblk_dev *vblk = dev_to_disk(dev)->private_data;

	return sysfs_emit(buf, "%s\n",
			  vblk_cache_modes[vblk_writeback(vblk->vdev)]);
}

static ssize_t cache_type_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct vblk_dev *vblk = dev_to_disk(dev)->private_data;
	int mode, err;

	mode = sysfs_match_string(vblk_cache_modes, buf);
	if (mode < 0)
		return mode;

	virtio_cwrite8(vblk->vdev, offsetof(struct virtio_blk_config, wce),
		       mode);
	err = vblk_update_cache_mode(vblk);
	return err ?: count;
}

static DEVICE_ATTR_RW(cache_type);

static struct attribute *vblk_attrs[] = {
	&dev_attr_serial.attr,
	&dev_attr_cache_type.attr,
#ifdef CONFIG_VIRTIO_BLK_IOPOLL
	&dev_attr_iopoll_budget.attr,
	&dev_attr_iopoll_adaptive.attr,
#endif
	NULL,
};

static umode_t vblk_attr_mode(struct kobject *kobj, struct attribute *attr,
			      int n)
{
	struct vblk_dev *vblk = dev_to_disk(kobj_to_dev(kobj))->private_data;

	if (attr == &dev_attr_cache_type.attr &&
	    !virtio_has_feature(vblk->vdev, VIRTIO_BLK_F_CONFIG_WCE))
		return 0444;
	return attr->mode;
}

static const struct attribute_group vblk_attr_group = {
	.attrs = vblk_attrs,
	.is_visible = vblk_attr_mode,
};

static const struct attribute_group *vblk_attr_groups[] = {
	&vblk_attr_group,
	NULL,
};

static int vblk_getgeo(struct block_device *bdev, struct hd_geometry *geo)
{
	struct vblk_dev *vblk = bdev->bd_disk->private_data;
	struct virtio_device *vdev;
	int err = 0;

	mutex_lock(&vblk->vdev_mutex);
	vdev = vblk->vdev;
	if (!vdev) {
		err = -ENXIO;
	} else if (virtio_has_feature(vdev, VIRTIO_BLK_F_GEOMETRY)) {
		virtio_cread(vdev, struct virtio_blk_config,
			     geometry.cylinders, &geo->cylinders);
		virtio_cread(vdev, struct virtio_blk_config,
			     geometry.heads, &geo->heads);
		virtio_cread(vdev, struct virtio_blk_config,
			     geometry.sectors, &geo->sectors);
	} else {
		/* the customary 64 heads, 32 sectors of disks without one */
		geo->heads = 64;
		geo->sectors = 32;
		geo->cylinders = get_capacity(bdev->bd_disk) >> 11;
	}
	mutex_unlock(&vblk->vdev_mutex);
	return err;
}

/* Last reference to the disk: the driver state can go with it. */
static void vblk_free_disk(struct gendisk *disk)
{
	struct vblk_dev *vblk = disk->private_data;

	ida_free(&vblk_index_ida, vblk->index);
	mutex_destroy(&vblk->vdev_mutex);
	kfree(vblk);
}

static const struct block_device_operations vblk_fops = {
	.owner		= THIS_MODULE,
	.getgeo		= vblk_getgeo,
	.free_disk	= vblk_free_disk,
};

/* ------------------------------------------------------------------ */
/* Counters in debugfs                                                */
/* ------------------------------------------------------------------ */

static int vblk_stats_show(struct seq_file *m, void *unused)
{
	struct vblk_vq *bvq = m->private;
	struct vblk_moderation mod;
	struct vblk_vq_stats s;
	unsigned long flags;

	spin_lock_irqsave(&bvq->lock, flags);
	s = bvq->stats;
	mod = bvq->mod;
	spin_unlock_irqrestore(&bvq->lock, flags);

	seq_printf(m, "interrupts %llu\n", s.interrupts);
	seq_printf(m, "polls %llu\n", s.polls);
	seq_printf(m, "completed %llu\n", s.completed);
	seq_printf(m, "budget_exhausted %llu\n", s.budget_exhausted);
	seq_printf(m, "rearm_races %llu\n", s.rearm_races);
	seq_printf(m, "kicks %llu\n", s.kicks);
	seq_printf(m, "timer_polls %llu\n", s.timer_polls);
	seq_printf(m, "inline_irqs %llu\n", s.inline_irqs);
	seq_printf(m, "gate_rearms %llu\n", s.gate_rearms);
	seq_printf(m, "deferrals %llu\n", s.deferrals);
	seq_printf(m, "fallbacks %llu\n", s.fallbacks);
	seq_printf(m, "probes %llu\n", s.probes);
	seq_printf(m, "probe_shuts %llu\n", s.probe_shuts);
	seq_printf(m, "explores %llu\n", s.explores);
	seq_printf(m, "explore_opens %llu\n", s.explore_opens);
	seq_printf(m, "timeout_recoveries %llu\n", s.timeout_recoveries);
	seq_printf(m, "inflight %u\n", mod.inflight);
	seq_printf(m, "gate %u\n", mod.gate);
	seq_printf(m, "shut %u\n", mod.shut);
	seq_printf(m, "defer_ns %llu\n", mod.defer_ns);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vblk_stats);

/* Counters only; what the controller has learnt stays. */
static ssize_t vblk_stats_reset(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct vblk_dev *vblk = file->private_data;
	unsigned long flags;
	unsigned int i;
	bool reset;
	int err;

	err = kstrtobool_from_user(ubuf, count, &reset);
	if (err)
		return err;
	for (i = 0; reset && i < vblk->num_vqs; i++) {
		struct vblk_vq *bvq = &vblk->vqs[i];

		spin_lock_irqsave(&bvq->lock, flags);
		memset(&bvq->stats, 0, sizeof(bvq->stats));
		spin_unlock_irqrestore(&bvq->lock, flags);
	}
	return count;
}

static const struct file_operations vblk_reset_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= vblk_stats_reset,
	.llseek	= noop_llseek,
};

static void vblk_debugfs_add(struct vblk_dev *vblk)
{
	char name[16];
	unsigned int i;

	vblk->debugfs = debugfs_create_dir(vblk->disk->disk_name,
					   vblk_debugfs_root);
	for (i = 0; i < vblk->num_vqs; i++) {
		snprintf(name, sizeof(name), "q%u", i);
		debugfs_create_file(name, 0444, vblk->debugfs, &vblk->vqs[i],
				    &vblk_stats_fops);
	}
	debugfs_create_file("reset", 0200, vblk->debugfs, vblk,
			    &vblk_reset_fops);
	debugfs_create_atomic_t("swallow_irqs", 0600, vblk->debugfs,
				&vblk->swallow_irqs);
}

/* ------------------------------------------------------------------ */
/* Probe and removal                                                  */
/* ------------------------------------------------------------------ */

static void vblk_discard_limits(struct virtio_device *vdev,
				struct queue_limits *lim)
{
	u32 v;

	if (virtio_has_feature(vdev, VIRTIO_BLK_F_DISCARD)) {
		/* as in the stock driver, 0 means the device sets no limit */
		virtio_cread(vdev, struct virtio_blk_config,
			     max_discard_sectors, &v);
		lim->max_hw_discard_sectors = v ?: UINT_MAX;
		virtio_cread(vdev, struct virtio_blk_config,
			     discard_sector_alignment, &v);
		if (v)
			lim->discard_granularity = v << SECTOR_SHIFT;
		/* and 0 ranges per request means as many as data segments */
		virtio_cread(vdev, struct virtio_blk_config,
			     max_discard_seg, &v);
		lim->max_discard_segments =
			clamp_t(u32, v ?: lim->max_segments, 1, VBLK_MAX_RANGES);
	}

	if (virtio_has_feature(vdev, VIRTIO_BLK_F_SECURE_ERASE)) {
		virtio_cread(vdev, struct virtio_blk_config,
			     max_secure_erase_sectors,
			     &lim->max_secure_erase_sectors);
		virtio_cread(vdev, struct virtio_blk_config,
			     secure_erase_sector_alignment, &v);
		if (v && !lim->discard_granularity)
			lim->discard_granularity = v << SECTOR_SHIFT;
		/* the block layer keeps one segment limit for both */
		virtio_cread(vdev, struct virtio_blk_config,
			     max_secure_erase_seg, &v);
		v = clamp_t(u32, v, 1, VBLK_MAX_RANGES);
		lim->max_discard_segments = lim->max_discard_segments ?
			min_t(u32, lim->max_discard_segments, v) : v;
	}

	if (lim->max_discard_segments && !lim->discard_granularity)
		lim->discard_granularity = lim->logical_block_size;

	if (virtio_has_feature(vdev, VIRTIO_BLK_F_WRITE_ZEROES)) {
		virtio_cread(vdev, struct virtio_blk_config,
			     max_write_zeroes_sectors, &v);
		lim->max_write_zeroes_sectors = v ?: UINT_MAX;
	}
}

static int vblk_read_limits(struct vblk_dev *vblk, struct queue_limits *lim)
{
	struct virtio_device *vdev = vblk->vdev;
	unsigned int ring = virtqueue_get_vring_size(vblk->vqs[0].vq);
	u32 sg_elems = 1, size_max, v;
	u16 min_io;
	u8 exp, u;

	memset(lim, 0, sizeof(*lim));
	/* rotational, as the stock driver leaves it on every kernel */
	compat_lim_rotational(lim);

	if (!virtio_cread_feature(vdev, VIRTIO_BLK_F_SEG_MAX,
				  struct virtio_blk_config, seg_max, &v) && v)
		sg_elems = v;
	/* without indirect descriptors, header and status need a slot each */
	if (!virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC))
		sg_elems = clamp_t(u32, sg_elems, 1, ring - 2);
	lim->max_segments = min_t(u32, sg_elems, USHRT_MAX);
	lim->max_hw_sectors = UINT_MAX;

	size_max = min_t(size_t, virtio_max_dma_size(vdev), UINT_MAX);
	if (!virtio_cread_feature(vdev, VIRTIO_BLK_F_SIZE_MAX,
				  struct virtio_blk_config, size_max, &v) && v)
		size_max = min(size_max, v);
	lim->max_segment_size = size_max;

	lim->logical_block_size = SECTOR_SIZE;
	if (!virtio_cread_feature(vdev, VIRTIO_BLK_F_BLK_SIZE,
				  struct virtio_blk_config, blk_size, &v)) {
		if (blk_validate_block_size(v)) {
			dev_err(&vdev->dev, "unsupported block size %u\n", v);
			return -EINVAL;
		}
		lim->logical_block_size = v;
	}
	lim->physical_block_size = lim->logical_block_size;

	if (virtio_has_feature(vdev, VIRTIO_BLK_F_TOPOLOGY)) {
		virtio_cread(vdev, struct virtio_blk_config,
			     physical_block_exp, &exp);
		if (exp < 16)
			lim->physical_block_size <<= exp;
		virtio_cread(vdev, struct virtio_blk_config,
			     alignment_offset, &u);
		lim->alignment_offset = u * lim->logical_block_size;
		virtio_cread(vdev, struct virtio_blk_config, min_io_size,
			     &min_io);
		lim->io_min = min_io * lim->logical_block_size;
		virtio_cread(vdev, struct virtio_blk_config, opt_io_size, &v);
		lim->io_opt = v * lim->logical_block_size;
	}

	if (!virtio_cread_feature(vdev, VIRTIO_BLK_F_WRITE_ZEROES,
				  struct virtio_blk_config,
				  write_zeroes_may_unmap, &u))
		vblk->zeroes_may_unmap = u;
	vblk_discard_limits(vdev, lim);
	return 0;
}

static int vblk_init_tag_set(struct vblk_dev *vblk)
{
	struct blk_mq_tag_set *set = &vblk->tag_set;
	unsigned int depth = queue_depth;

	/*
	 * By default, fill the ring: every request takes header and status
	 * descriptors of its own without indirect descriptors.  A depth
	 * given at load is used as given, as the stock driver does; beyond
	 * the ring, requests wait for descriptors (BLK_STS_DEV_RESOURCE).
	 */
	if (!depth) {
		depth = virtqueue_get_vring_size(vblk->vqs[0].vq);
		if (!virtio_has_feature(vblk->vdev,
					VIRTIO_RING_F_INDIRECT_DESC))
			depth /= 2;
	}

	set->ops = &vblk_mq_ops;
	set->nr_hw_queues = vblk->num_vqs;
	set->nr_maps = vblk->io_queues[HCTX_TYPE_POLL] ? HCTX_MAX_TYPES : 1;
	set->queue_depth = max(depth, 1U);
	set->numa_node = NUMA_NO_NODE;
	set->flags = BLK_MQ_F_SHOULD_MERGE;
	set->cmd_size = sizeof(struct vblk_req) +
			sizeof(struct scatterlist) * VBLK_INLINE_SGS;
	set->driver_data = vblk;
	return blk_mq_alloc_tag_set(set);
}

static void vblk_disk_name(char *buf, int index)
{
	char suffix[8];
	char *p = suffix + sizeof(suffix);

	*--p = '\0';
	do {
		*--p = 'a' + index % 26;
		index = index / 26 - 1;
	} while (index >= 0);
	snprintf(buf, DISK_NAME_LEN, "vd%s", p);
}

static void vblk_setup_disk(struct vblk_dev *vblk)
{
	struct gendisk *disk = vblk->disk;
	u64 capacity;

	disk->major = vblk_major;
	disk->first_minor = vblk->index << VBLK_PART_BITS;
	disk->minors = 1 << VBLK_PART_BITS;
	disk->fops = &vblk_fops;
	disk->private_data = vblk;
	vblk_disk_name(disk->disk_name, vblk->index);

	virtio_cread(vblk->vdev, struct virtio_blk_config, capacity, &capacity);
	set_capacity(disk, capacity);
	set_disk_ro(disk, virtio_has_feature(vblk->vdev, VIRTIO_BLK_F_RO));
}

static void vblk_config_work(struct work_struct *work)
{
	struct vblk_dev *vblk = container_of(work, struct vblk_dev,
					     config_work);
	u64 capacity;

	virtio_cread(vblk->vdev, struct virtio_blk_config, capacity, &capacity);
	if (set_capacity_and_notify(vblk->disk, capacity))
		dev_info(&vblk->vdev->dev, "[%s] capacity now %llu sectors\n",
			 vblk->disk->disk_name, capacity);
}

static void vblk_config_changed(struct virtio_device *vdev)
{
	struct vblk_dev *vblk = vdev->priv;

	schedule_work(&vblk->config_work);
}

static int vblk_probe(struct virtio_device *vdev)
{
	struct queue_limits lim;
	struct vblk_dev *vblk;
	int err;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "device offers no config space access\n");
		return -EINVAL;
	}

	vblk = kzalloc(sizeof(*vblk), GFP_KERNEL);
	if (!vblk)
		return -ENOMEM;

	err = ida_alloc_range(&vblk_index_ida, 0, VBLK_MAX_DISKS - 1,
			      GFP_KERNEL);
	if (err < 0)
		goto out_free_vblk;
	vblk->index = err;
	vblk->vdev = vdev;
	vblk->iopoll_adaptive = -1;
	vdev->priv = vblk;
	mutex_init(&vblk->vdev_mutex);
	INIT_WORK(&vblk->config_work, vblk_config_work);

	err = vblk_alloc_vqs(vblk);
	if (err)
		goto out_free_index;
	err = vblk_find_vqs(vblk);
	if (err)
		goto out_free_vqs;

	err = vblk_read_limits(vblk, &lim);
	if (err)
		goto out_del_vqs;
	err = vblk_init_tag_set(vblk);
	if (err)
		goto out_del_vqs;

	vblk->disk = compat_alloc_disk(&vblk->tag_set, &lim, vblk);
	if (IS_ERR(vblk->disk)) {
		err = PTR_ERR(vblk->disk);
		goto out_free_tags;
	}
	vblk_setup_disk(vblk);
	err = vblk_update_cache_mode(vblk);
	if (err)
		goto out_put_disk;

	virtio_device_ready(vdev);

	err = device_add_disk(&vdev->dev, vblk->disk, vblk_attr_groups);
	if (err)
		goto out_reset;

	vblk_debugfs_add(vblk);
	return 0;

out_reset:
	virtio_reset_device(vdev);
out_put_disk:
	/* never added: ->free_disk is not called, the state is ours to free */
	put_disk(vblk->disk);
out_free_tags:
	blk_mq_free_tag_set(&vblk->tag_set);
out_del_vqs:
	vblk_del_vqs(vblk, vdev);
out_free_vqs:
	kfree(vblk->vqs);
out_free_index:
	mutex_destroy(&vblk->vdev_mutex);
	ida_free(&vblk_index_ida, vblk->index);
out_free_vblk:
	kfree(vblk);
	return err;
}

static void vblk_remove(struct virtio_device *vdev)
{
	struct vblk_dev *vblk = vdev->priv;

	/* config interrupts are off by now; finish a pending resize */
	flush_work(&vblk->config_work);
	debugfs_remove(vblk->debugfs);

	del_gendisk(vblk->disk);

	/* no callback, poller run or timer may outlive the tag set */
	mutex_lock(&vblk->vdev_mutex);
	virtio_reset_device(vdev);
	vblk_del_vqs(vblk, vdev);
	vblk->vdev = NULL;
	mutex_unlock(&vblk->vdev_mutex);
	blk_mq_free_tag_set(&vblk->tag_set);

	kfree(vblk->vqs);
	vblk->vqs = NULL;
	put_disk(vblk->disk);
}

#ifdef CONFIG_PM_SLEEP
static int vblk_freeze(struct virtio_device *vdev)
{
	struct vblk_dev *vblk = vdev->priv;
	struct request_queue *q = vblk->disk->queue;

	/* let in-flight requests finish, hold back new ones until restore */
	blk_mq_freeze_queue(q);
	blk_mq_quiesce_queue(q);
	blk_mq_unfreeze_queue(q);

	/* the reset returns the cache mode to the device's default */
	vblk->wce = vblk_writeback(vdev);
	virtio_reset_device(vdev);
	flush_work(&vblk->config_work);
	vblk_del_vqs(vblk, vdev);
	return 0;
}

static int vblk_restore(struct virtio_device *vdev)
{
	struct vblk_dev *vblk = vdev->priv;
	int err;

	err = vblk_find_vqs(vblk);
	if (err)
		return err;

	/* the mode chosen through cache_type, which the queue still uses */
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_CONFIG_WCE))
		virtio_cwrite8(vdev, offsetof(struct virtio_blk_config, wce),
			       vblk->wce);

	virtio_device_ready(vdev);
	blk_mq_unquiesce_queue(vblk->disk->queue);
	return 0;
}
#endif

static const struct virtio_device_id vblk_id_table[] = {
	{ VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vblk_id_table);

static unsigned int vblk_features[] = {
	VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_GEOMETRY,
	VIRTIO_BLK_F_RO, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH,
	VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_F_MQ,
	VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES,
	VIRTIO_BLK_F_SECURE_ERASE,
};

static struct virtio_driver vblk_driver = {
	.feature_table			= vblk_features,
	.feature_table_size		= ARRAY_SIZE(vblk_features),
	.feature_table_legacy		= vblk_features,
	.feature_table_size_legacy	= ARRAY_SIZE(vblk_features),
	.driver.name			= KBUILD_MODNAME,
	.id_table			= vblk_id_table,
	.probe				= vblk_probe,
	.remove				= vblk_remove,
	.config_changed			= vblk_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze				= vblk_freeze,
	.restore			= vblk_restore,
#endif
};

static int __init vblk_init(void)
{
	int err;

	vblk_major = register_blkdev(0, "virtblk");
	if (vblk_major < 0)
		return vblk_major;

	vblk_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);

	err = vblk_sysctl_register();
	if (err)
		goto out_debugfs;

	err = compat_register_virtio_driver(&vblk_driver);
	if (err)
		goto out_sysctl;
	return 0;

out_sysctl:
	vblk_sysctl_unregister();
out_debugfs:
	debugfs_remove(vblk_debugfs_root);
	unregister_blkdev(vblk_major, "virtblk");
	return err;
}

static void __exit vblk_exit(void)
{
	unregister_virtio_driver(&vblk_driver);
	vblk_sysctl_unregister();
	debugfs_remove(vblk_debugfs_root);
	unregister_blkdev(vblk_major, "virtblk");
}

module_init(vblk_init);
module_exit(vblk_exit);

MODULE_DESCRIPTION("Virtio block driver with budgeted irq_poll completion");
MODULE_AUTHOR("virtio-blk iopoll developers");
MODULE_LICENSE("GPL");
#ifdef VBLK_VERSION
MODULE_VERSION(VBLK_VERSION);
#endif
