// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test helper: runs the virtio core's system-sleep sequence on one
 * virtio_blk device, without suspending the rest of the guest.
 *
 *   echo virtioN > /sys/module/virtio_pm_cycle/parameters/cycle
 *
 * calls virtio_device_freeze() (the driver's ->freeze), waits hold_ms,
 * then virtio_device_restore() (device reset, features, the driver's
 * ->restore, DRIVER_OK), as the virtio transports' suspend and resume
 * callbacks do.  The write fails with the error of either step.  Only
 * devices bound to a driver named virtio_blk are accepted.
 *
 * A system suspend in PM test mode would do the same to every virtio
 * device, including the 9p shares that the test guests run from; 9p has
 * no freeze/restore and does not survive the device reset.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/virtio.h>

static unsigned int hold_ms = 20;
module_param(hold_ms, uint, 0644);
MODULE_PARM_DESC(hold_ms, "Time between freeze and restore in ms (default 20)");

/* never binds a device: registered to learn the virtio bus */
static const struct virtio_device_id vpm_no_ids[] = {
	{ 0 },
};

static int vpm_probe(struct virtio_device *vdev)
{
	return -ENODEV;
}

static struct virtio_driver vpm_driver = {
	.driver.name	= KBUILD_MODNAME,
	.id_table	= vpm_no_ids,
	.probe		= vpm_probe,
};

static int vpm_cycle_one(struct device *dev)
{
	struct virtio_device *vdev = dev_to_virtio(dev);
	int err;

	if (!dev->driver || strcmp(dev->driver->name, "virtio_blk"))
		return -EINVAL;
	err = virtio_device_freeze(vdev);
	if (err) {
		dev_err(dev, "freeze failed: %d\n", err);
		return err;
	}
	msleep(READ_ONCE(hold_ms));
	err = virtio_device_restore(vdev);
	if (err)
		dev_err(dev, "restore failed: %d\n", err);
	return err;
}

static int vpm_cycle(const char *val, const struct kernel_param *kp)
{
	char name[32];
	struct device *dev;
	int err;

	if (strscpy(name, val, sizeof(name)) < 0)
		return -EINVAL;
	strim(name);
	dev = bus_find_device_by_name(vpm_driver.driver.bus, NULL, name);
	if (!dev)
		return -ENODEV;
	/* no probe or remove meanwhile */
	device_lock(dev);
	err = vpm_cycle_one(dev);
	device_unlock(dev);
	put_device(dev);
	return err;
}

static const struct kernel_param_ops vpm_cycle_ops = {
	.set = vpm_cycle,
};

module_param_cb(cycle, &vpm_cycle_ops, NULL, 0200);
MODULE_PARM_DESC(cycle, "Write a virtio device name: freeze and restore it");

static int __init vpm_init(void)
{
#ifndef register_virtio_driver
	vpm_driver.driver.owner = THIS_MODULE;
#endif
	return register_virtio_driver(&vpm_driver);
}

static void __exit vpm_exit(void)
{
	unregister_virtio_driver(&vpm_driver);
}

module_init(vpm_init);
module_exit(vpm_exit);

MODULE_DESCRIPTION("Test helper: virtio freeze/restore of one virtio_blk device");
MODULE_LICENSE("GPL");
