"""The embedded MQTT broker runner (Mosquitto or amqtt) that the demo, the benches and the tests start."""
