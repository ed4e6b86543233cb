#!/usr/bin/env node
"use strict";

const { EventEmitter } = require("events");

/**
 * A first-in, first-out job queue.
 */
class JobQueue extends EventEmitter {
  #jobs = [];

  static from(jobs) {
    const queue = new JobQueue();
    jobs.forEach((job) => queue.push(job));
    return queue;
  }

  push(job, { priority = 0 } = {}) {
    if (typeof job !== "function") {
      throw new TypeError("a job must be a function");
    }
    this.#jobs.push({ job, priority });
    this.emit("push", job);
  }

  onDrain = (callback) => {
    this.once("drain", callback);
  };

  *pending() {
    yield* this.#jobs.map((entry) => entry.job);
  }
}

const retry = async (job, attempts = 3, delay = 100) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await job();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay * attempt));
    }
  }
};

let nextId = 0, label = (id) => `job-${id}`;

function renderStatus(queue) {
  return <span className="status">{queue.size} jobs</span>;
}

const handlers = {
  start(queue) {
    return queue.emit("start");
  },
};

module.exports = { JobQueue, retry, renderStatus, handlers, nextId, label };
